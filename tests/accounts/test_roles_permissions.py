"""Roles map to Django groups and flags; admins never hold settings or finance permissions."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.db import IntegrityError, transaction

from apps.accounts import roles, services
from apps.accounts.models import ApiToken, Role, User
from derpmgr.errors import PermissionDenied, ServiceError
from tests.accounts.helpers import events
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def group_names(user) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


# --- Role groups and flags -------------------------------------------------------------------

def test_the_migration_creates_one_group_per_role():
    assert set(Role.values) <= set(Group.objects.values_list("name", flat=True))


@pytest.mark.parametrize(("role", "staff", "superuser"), [
    (Role.SUPERADMIN, True, True), (Role.ADMIN, True, False),
    (Role.DISTRIBUTOR, False, False), (Role.USER, False, False)])
def test_the_role_decides_the_flags_and_the_group(role, staff, superuser):
    user = UserFactory(role=role, is_staff=not staff, is_superuser=not superuser)

    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (staff, superuser)
    assert group_names(user) == [role]


def test_a_new_role_moves_the_account_to_the_new_group_only():
    user = UserFactory(role=Role.USER)

    user.role = Role.ADMIN
    user.save()

    assert group_names(user) == [Role.ADMIN]
    assert user.is_staff


def test_groups_outside_the_roles_are_kept_on_a_role_change():
    user = UserFactory(role=Role.USER)
    user.groups.add(Group.objects.create(name="auditors"))

    user.role = Role.DISTRIBUTOR
    user.save()

    assert group_names(user) == ["auditors", Role.DISTRIBUTOR]


def test_the_admin_role_holds_its_declared_permissions(admin_user):
    existing = {f"{p.content_type.app_label}.{p.codename}"
                for p in Permission.objects.select_related("content_type")}
    declared = set(roles.ROLE_PERMISSIONS[Role.ADMIN])
    assert {"accounts.change_user", "billing.change_order", "servers.view_server"} <= existing
    for label in declared & existing:  # the rest belong to apps not installed yet (operations)
        assert admin_user.has_perm(label), label


def test_adding_and_deleting_servers_is_granted_per_admin_not_by_the_role(admin_user):
    assert admin_user.has_perm("servers.change_server")
    assert not admin_user.has_perm("servers.add_server")
    assert not admin_user.has_perm("servers.delete_server")


@pytest.mark.parametrize("label", ["django_celery_beat.view_periodictask",
                                   "django_celery_beat.change_periodictask",
                                   "auth.change_group", "auth.change_permission",
                                   "otp_totp.view_totpdevice"])
def test_an_admin_holds_no_settings_role_or_device_permission(admin_user, label):
    assert not admin_user.has_perm(label)


def test_the_sync_strips_settings_and_finance_permissions_from_the_admin_group():
    group = Group.objects.get(name=Role.ADMIN)
    group.permissions.add(*Permission.objects.filter(
        content_type__app_label__in=["django_celery_beat", "auth"]))

    roles.sync_role_permissions()

    assert not roles.forbidden_for_admin_role(group.permissions.all()).exists()
    held = set(group.permissions.values_list("content_type__app_label", flat=True))
    assert not held & {"django_celery_beat", "auth", "otp_totp", "otp_static"}
    assert set(group.permissions.filter(content_type__app_label="billing")
               .values_list("codename", flat=True)) == {"view_order", "change_order", "view_plan"}
    assert group.permissions.filter(codename="change_user").exists()


def test_the_sync_is_idempotent():
    group = Group.objects.get(name=Role.ADMIN)
    before = set(group.permissions.values_list("pk", flat=True))

    roles.sync_role_permissions()
    roles.sync_role_permissions()

    assert set(group.permissions.values_list("pk", flat=True)) == before


def test_a_super_admin_holds_every_permission(superadmin):
    assert superadmin.has_perm("django_celery_beat.change_periodictask")
    assert superadmin.has_perm("auth.change_group")


@pytest.mark.parametrize(("role", "required"), [
    (Role.SUPERADMIN, True), (Role.ADMIN, True), (Role.DISTRIBUTOR, True), (Role.USER, False)])
def test_who_must_use_mfa(role, required):
    assert UserFactory(role=role).mfa_required is required


def test_the_operator_may_relax_mfa_for_distributors_only(settings):
    settings.MFA_REQUIRED_FOR_DISTRIBUTORS = False

    assert not UserFactory(role=Role.DISTRIBUTOR).mfa_required
    assert UserFactory(role=Role.ADMIN).mfa_required


# --- Uniqueness in the database ---------------------------------------------------------------

def test_the_database_refuses_the_same_email_in_another_case():
    UserFactory(email="case@example.com", username="first")

    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(email="CASE@example.com", username="second")


def test_the_database_refuses_the_same_username_in_another_case():
    UserFactory(username="samename", email="one@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(username="SameName", email="two@example.com")


# --- change_role -----------------------------------------------------------------------------

def test_a_super_admin_changes_a_role_and_it_is_audited(superadmin, customer):
    services.change_role(actor=superadmin, user=customer, role=Role.DISTRIBUTOR, ip="10.0.0.7")

    customer.refresh_from_db()
    assert customer.role == Role.DISTRIBUTOR
    [event] = events("accounts.role_changed")
    assert (event.actor, event.ip) == (superadmin, "10.0.0.7")
    assert event.details == {"from": Role.USER, "to": Role.DISTRIBUTOR}


def test_an_admin_cannot_change_roles(admin_user, customer):
    with pytest.raises(PermissionDenied):
        services.change_role(actor=admin_user, user=customer, role=Role.ADMIN)

    customer.refresh_from_db()
    assert customer.role == Role.USER


def test_an_unknown_role_is_refused(superadmin, customer):
    with pytest.raises(ServiceError) as refused:
        services.change_role(actor=superadmin, user=customer, role="owner")

    assert refused.value.code == "invalid_role"


def test_a_super_admin_cannot_demote_themselves(superadmin):
    with pytest.raises(ServiceError) as refused:
        services.change_role(actor=superadmin, user=superadmin, role=Role.ADMIN)

    assert refused.value.code == "self_demotion"


def test_setting_the_same_role_records_nothing(superadmin, customer):
    services.change_role(actor=superadmin, user=customer, role=Role.USER)

    assert not events("accounts.role_changed")


# --- One visibility rule ----------------------------------------------------------------------

def test_a_super_admin_sees_every_account(personas):
    assert set(User.objects.visible_to(personas["superadmin"])) == set(personas.values())


def test_an_admin_sees_every_account_but_super_admins(personas):
    visible = set(User.objects.visible_to(personas["admin"]))

    assert visible == set(personas.values()) - {personas["superadmin"]}


@pytest.mark.parametrize("persona", ["distributor", "user", "stranger"])
def test_everyone_else_sees_only_themselves(personas, persona):
    assert list(User.objects.visible_to(personas[persona])) == [personas[persona]]


def test_a_deactivated_viewer_sees_nothing(personas):
    viewer = personas["admin"]
    viewer.is_active = False

    assert not User.objects.visible_to(viewer).exists()


def test_an_anonymous_viewer_sees_nothing(personas):
    assert not User.objects.visible_to(AnonymousUser()).exists()


def test_api_tokens_are_visible_to_their_owner_and_super_admins(personas):
    mine, _raw = ApiToken.issue(personas["user"])
    theirs, _raw = ApiToken.issue(personas["stranger"])

    assert list(ApiToken.objects.visible_to(personas["user"])) == [mine]
    assert list(ApiToken.objects.visible_to(personas["admin"])) == []
    assert set(ApiToken.objects.visible_to(personas["superadmin"])) == {mine, theirs}


def test_the_admin_role_group_refuses_settings_and_finance_permissions(superadmin):
    from django.contrib.auth.models import Group, Permission

    from tests.conftest import signed_in_client

    group = Group.objects.get(name="admin")
    before = set(group.permissions.values_list("pk", flat=True))
    beat = Permission.objects.get(content_type__app_label="django_celery_beat",
                                  codename="view_periodictask")
    response = signed_in_client(superadmin).post(
        f"/admin/auth/group/{group.pk}/change/",
        {"permissions": [*before, beat.pk]})
    assert response.status_code == 200  # the form comes back with the reason
    assert b"cannot hold system-settings or finance permissions" in response.content
    assert set(group.permissions.values_list("pk", flat=True)) == before


def test_a_distributor_sees_the_customers_who_activated_their_codes(distributor, customer, stranger):
    from datetime import timedelta

    from django.utils import timezone

    from apps.accounts.models import User
    from apps.billing.models import Plan
    from apps.distribution.models import ActivationCode

    ActivationCode.objects.create(code="X" * 25, plan=Plan.objects.first(), created_by=distributor,
                                  status="used", user=customer, used_at=timezone.now(),
                                  expires_at=timezone.now() + timedelta(days=1))
    assert set(User.objects.visible_to(distributor)) == {distributor, customer}
    assert stranger not in User.objects.visible_to(distributor)
