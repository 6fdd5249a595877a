"""The one policy: role gates, permissions that only count for staff, objects, refusal shapes."""

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.utils import translation

from apps.accounts import policy
from apps.accounts.models import Role
from derpmgr.errors import NotFound, PermissionDenied
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GATES = {
    policy.STAFF: {"superadmin", "admin"},
    policy.DISTRIBUTOR: {"distributor"},
    policy.CUSTOMER: {"user", "stranger"},
    policy.SUPERADMIN: {"superadmin"},
}


def grant(user, label: str):
    app_label, codename = label.split(".")
    user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label,
                                                     codename=codename))
    return type(user).objects.get(pk=user.pk)  # a fresh object: has_perm caches


@pytest.mark.parametrize("gate", GATES)
def test_each_role_gate_lets_in_its_roles_only(personas, gate):
    admitted = {name for name, user in personas.items() if policy.can(user, gate)}

    assert admitted == GATES[gate]


@pytest.mark.parametrize("gate", GATES)
def test_nobody_anonymous_or_deactivated_passes_a_gate(personas, gate):
    deactivated = personas["superadmin"]
    deactivated.is_active = False

    assert not policy.can(AnonymousUser(), gate)
    assert not policy.can(deactivated, gate)
    assert not policy.can(None, gate)


def test_a_super_admin_holds_every_permission(superadmin):
    assert policy.can(superadmin, "billing.view_finance")
    assert policy.can(superadmin, "servers.add_server")


def test_an_admin_holds_the_role_groups_permissions_only(admin_user):
    assert policy.can(admin_user, "distribution.add_activationcode")
    assert policy.can(admin_user, "servers.view_server")
    assert not policy.can(admin_user, "servers.add_server")
    assert not policy.can(admin_user, "billing.view_finance")


@pytest.mark.parametrize("persona", ["distributor", "user"])
def test_a_permission_granted_outside_the_staff_counts_for_nothing(personas, persona):
    user = grant(personas[persona], "audit.view_auditevent")
    assert user.has_perm("audit.view_auditevent")

    assert not policy.can(user, "audit.view_auditevent")
    with pytest.raises(NotFound):
        policy.require(user, "audit.view_auditevent")


def test_staff_lacking_a_permission_are_told_so(admin_user):
    with pytest.raises(PermissionDenied) as refused:
        policy.require(admin_user, "billing.view_finance")

    assert (refused.value.status, refused.value.code) == (403, "forbidden")
    with translation.override("en"):
        assert "super admin can grant it" in str(refused.value.message)


def test_a_grant_counts_at_once_and_so_does_its_withdrawal(admin_user):
    granted = grant(admin_user, "billing.view_finance")
    assert policy.can(granted, "billing.view_finance")

    granted.user_permissions.clear()
    assert not policy.can(type(granted).objects.get(pk=granted.pk), "billing.view_finance")


def test_another_roles_pages_are_not_found_even_for_staff(superadmin, admin_user):
    for staff in (superadmin, admin_user):
        for gate in (policy.DISTRIBUTOR, policy.CUSTOMER):
            with pytest.raises(NotFound):
                policy.require(staff, gate)


def test_the_super_admins_own_work_is_refused_to_an_admin_with_403(admin_user, customer):
    with pytest.raises(PermissionDenied) as refused:
        policy.require(admin_user, policy.SUPERADMIN)
    with translation.override("en"):
        assert "Only a super admin" in str(refused.value.message)
    with pytest.raises(NotFound):
        policy.require(customer, policy.SUPERADMIN)


def test_an_admin_changes_customers_and_themselves_but_not_other_staff(admin_user, customer):
    peer = UserFactory(role=Role.ADMIN)

    assert policy.can(admin_user, "accounts.change_user", customer)
    assert policy.can(admin_user, "accounts.change_user", admin_user)
    assert not policy.can(admin_user, "accounts.change_user", peer)
    with pytest.raises(PermissionDenied):
        policy.require(admin_user, "accounts.change_user", peer)


def test_an_object_the_principal_cannot_see_is_not_found(admin_user, superadmin):
    assert not policy.can(admin_user, "accounts.change_user", superadmin)
    with pytest.raises(NotFound):
        policy.require(admin_user, "accounts.change_user", superadmin)


def test_require_any_passes_on_one_and_prefers_the_telling_refusal(admin_user, distributor,
                                                                   customer):
    policy.require_any(distributor, policy.DISTRIBUTOR, "distribution.view_activationcode")
    policy.require_any(admin_user, policy.DISTRIBUTOR, "distribution.view_activationcode")
    with pytest.raises(PermissionDenied):
        policy.require_any(admin_user, policy.DISTRIBUTOR, "billing.view_finance")
    with pytest.raises(NotFound):
        policy.require_any(customer, policy.DISTRIBUTOR, "distribution.view_activationcode")


def test_templates_ask_the_policy(admin_user, customer):
    assert policy.Allowed(admin_user)["audit"]["view_auditevent"] is True
    assert policy.Allowed(admin_user)["billing"]["view_finance"] is False
    assert policy.Allowed(customer)["role"]["customer"] is True
