"""What each role may do in the Django admin, declared once and synced into its group."""

from django.contrib.auth.models import Group, Permission

from .models import Role

# Model permissions (app_label.codename) each role's group holds. Super admins are Django
# superusers and need none; a super admin may grant an admin more, per person or per group.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.SUPERADMIN: [],
    Role.ADMIN: [
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "audit.view_auditevent",
        "notifications.view_outboundemail",
        # Codes under their authority and the distributors they own (seed 2.2).
        "distribution.view_activationcode",
        "distribution.change_activationcode",
        "distribution.view_distributorprofile",
        "distribution.add_distributorprofile",
        "distribution.change_distributorprofile",
        # The fleet, day to day. Adding and deleting servers costs money: a super admin grants
        # servers.add_server / servers.delete_server per admin.
        "servers.view_server",
        "servers.change_server",
        "servers.operate_server",
        "containers.view_derpinstance",
        "containers.add_derpinstance",
        "containers.change_derpinstance",
        "containers.delete_derpinstance",
        "operations.view_operation",
        "operations.cancel_operation",
    ],
    Role.DISTRIBUTOR: [],
    Role.USER: [],
}

# Apps holding system settings and finance: never part of the admin role, whatever was granted.
ADMIN_FORBIDDEN_APPS = frozenset({"django_celery_beat", "billing", "auth", "otp_totp", "otp_static"})


def _permissions(labels: list[str]):
    wanted = [label.split(".", 1) for label in labels]
    found = Permission.objects.none()
    for app_label, codename in wanted:
        found |= Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return found


def sync_role_permissions() -> None:
    """Idempotent: each role group holds at least its declared permissions, and the admin role
    never holds permissions of the settings and finance apps."""
    for role, labels in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        if labels:
            group.permissions.add(*_permissions(labels))
        if role == Role.ADMIN:
            group.permissions.remove(
                *group.permissions.filter(content_type__app_label__in=ADMIN_FORBIDDEN_APPS))


def sync_role_permissions_after_migrate(sender, **kwargs):
    sync_role_permissions()
