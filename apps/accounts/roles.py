"""What each role may do, declared once and synced into its group. apps/accounts/policy.py asks.

Super admins are Django superusers and hold every permission. An admin holds the admin group's
permissions plus whatever a super admin grants them, per person or through another group; a
withdrawal counts at once, everywhere (pages, API, admin). Distributors and customers hold none:
their pages are theirs by role (policy.DISTRIBUTOR, policy.CUSTOMER).

The admin role never holds system settings, roles, OTP devices, finance or the distributor tiers
(ADMIN_FORBIDDEN_*):
the sync strips them from the admin group and the group's admin form refuses them. A super admin
may still grant one of them to one admin on that admin's user page, deliberately; roles, groups
and OTP devices stay the super admin's alone whatever is granted (policy.SUPERADMIN).
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from .models import Role

# The fleet (servers, relays, operations). Adding and deleting servers costs money: a super
# admin grants servers.add_server and servers.delete_server to an admin by name.
ADMIN_FLEET = [
    "servers.view_server", "servers.change_server", "servers.operate_server",
    "containers.view_derpinstance", "containers.add_derpinstance",
    "containers.change_derpinstance", "containers.delete_derpinstance",
    "operations.view_operation", "operations.cancel_operation",
    # Fleet health: alerts (read and acknowledge), probe state, samples and hourly figures.
    "monitoring.view_alert", "monitoring.acknowledge_alert", "monitoring.view_alertdelivery",
    "monitoring.view_serverhealth", "monitoring.view_relayhealth", "monitoring.view_sample",
    "monitoring.view_samplerollup",
]

# Model permissions (app_label.codename) each role's group holds.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.SUPERADMIN: [],
    Role.ADMIN: [
        # Accounts (not other staff's: policy's object rule) and the system log.
        "accounts.view_user", "accounts.add_user", "accounts.change_user",
        "audit.view_auditevent",
        # The outbox, and writing to a customer (POST /api/notifications/send).
        "notifications.view_outboundemail", "notifications.add_outboundemail",
        # Codes under their authority and the distributors they own (seed 2.2).
        "distribution.view_activationcode", "distribution.add_activationcode",
        "distribution.change_activationcode",
        "distribution.view_distributorprofile", "distribution.add_distributorprofile",
        "distribution.change_distributorprofile",
        # Customers' orders (seed 5.3): the day-to-day marks, and the plans codes are issued for.
        "billing.view_order", "billing.change_order", "billing.view_plan",
        # Customers' devices, derpMap versions and downloads.
        "acl.view_device", "acl.change_device", "acl.delete_device",
        "acl.view_aclconfig", "acl.add_aclconfig", "acl.view_acllog",
        # Customers' rentals: renew to a date, suspend and resume by hand (deleting an account
        # stays the super admin's unless granted: accounts.delete_user).
        "rentals.view_rental", "rentals.renew_rental", "rentals.suspend_rental",
        *ADMIN_FLEET,
    ],
    Role.DISTRIBUTOR: [],
    Role.USER: [],
}

# Apps holding system settings, roles and OTP devices, and finance: never the admin role's.
ADMIN_FORBIDDEN_APPS = frozenset({"django_celery_beat", "billing", "auth", "otp_totp", "otp_static"})
# ...except the customers' orders and the plans, which admins handle every day (seed 5.3).
ADMIN_ALLOWED_IN_FORBIDDEN_APPS = frozenset({"billing.view_order", "billing.change_order",
                                             "billing.view_plan"})
# Distributor tiers set the discounts and commissions (prices, like the plans and coupons):
# editing one, or moving a distributor to another, is the super admin's unless granted.
ADMIN_FORBIDDEN_PERMISSIONS = frozenset({"distribution.add_distributortier",
                                         "distribution.change_distributortier",
                                         "distribution.delete_distributortier"})


def _label_q(labels) -> Q:
    query = Q(pk__in=[])
    for label in labels:
        app_label, codename = label.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return query


def _permissions(labels: list[str]):
    """The permissions named; a label whose app or permission does not exist (yet) is skipped."""
    return Permission.objects.filter(_label_q(labels))


def forbidden_for_admin_role(permissions):
    """Those of `permissions` (a Permission queryset) the admin role may never hold."""
    return ((permissions.filter(content_type__app_label__in=ADMIN_FORBIDDEN_APPS)
             .exclude(_label_q(ADMIN_ALLOWED_IN_FORBIDDEN_APPS)))
            | permissions.filter(_label_q(ADMIN_FORBIDDEN_PERMISSIONS)))


def sync_role_permissions() -> None:
    """Idempotent: each role group holds at least its declared permissions, and the admin role
    never holds permissions of the settings and finance apps."""
    for role, labels in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        if labels:
            group.permissions.add(*_permissions(labels))
        if role == Role.ADMIN:
            group.permissions.remove(*forbidden_for_admin_role(group.permissions.all()))


def sync_role_permissions_after_migrate(sender, **kwargs):
    sync_role_permissions()
