"""The Django admin: only for OTP-verified staff; admins run customer accounts, not staff or settings."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group, Permission
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import Role, User
from tests.accounts.helpers import admin_form_data, events
from tests.conftest import signed_in_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def change_url(user) -> str:
    return f"/admin/accounts/user/{user.pk}/change/"


def permission(label: str) -> Permission:
    app_label, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


# --- Who reaches the admin -------------------------------------------------------------------

def login_target(response) -> tuple[str, str]:
    """Where a redirect to the panel login goes, and the page it promises to return to."""
    url = urlsplit(response["Location"])
    return url.path, parse_qs(url.query).get("next", [""])[0]


def test_a_visitor_is_sent_to_the_panel_login(anon_client):
    response = anon_client.get("/admin/")

    assert response.status_code == 302
    assert login_target(response) == ("/accounts/login/", "/admin/")


def test_the_admin_login_page_itself_leads_to_the_panel_login(anon_client):
    response = anon_client.get("/admin/login/?next=/admin/accounts/user/")

    assert login_target(response) == ("/accounts/login/", "/admin/accounts/user/")


def test_a_staff_session_without_the_code_step_does_not_reach_the_admin(admin_user):
    client = signed_in_client(admin_user, verified=False)

    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1][0] == "/accounts/mfa/"
    assert response.templates[0].name == "accounts/mfa.html"


@pytest.mark.parametrize("persona", ["superadmin", "admin_user"])
def test_verified_staff_reach_the_admin(persona, request):
    response = signed_in_client(request.getfixturevalue(persona)).get("/admin/")

    assert response.status_code == 200


@pytest.mark.parametrize("persona", ["customer", "stranger"])
def test_a_customer_is_told_there_is_no_admin(persona, request):
    response = signed_in_client(request.getfixturevalue(persona)).get("/admin/", follow=True)

    assert response.status_code == 404
    assert response.redirect_chain == []


def test_a_relaxed_distributor_is_told_there_is_no_admin(distributor, settings):
    settings.MFA_REQUIRED_FOR_DISTRIBUTORS = False

    response = signed_in_client(distributor).get("/admin/accounts/user/", follow=True)

    assert response.status_code == 404


# --- One visibility rule in the changelist ---------------------------------------------------

def test_an_admin_lists_everyone_but_super_admins(admin_user, superadmin, distributor, customer):
    response = signed_in_client(admin_user).get("/admin/accounts/user/")

    listed = set(response.context["cl"].result_list)
    assert listed == {admin_user, distributor, customer}
    assert superadmin.email not in response.content.decode()


def test_a_super_admin_lists_everyone(superadmin, admin_user, customer):
    response = signed_in_client(superadmin).get("/admin/accounts/user/")

    assert set(response.context["cl"].result_list) == {superadmin, admin_user, customer}


def test_an_admin_cannot_open_a_super_admins_account(admin_user, superadmin):
    client = signed_in_client(admin_user)

    response = client.get(change_url(superadmin))

    assert response.status_code in (302, 404)
    assert superadmin.email not in response.content.decode()


def test_an_admin_cannot_open_a_super_admins_password_form(admin_user, superadmin):
    response = signed_in_client(admin_user).get(f"/admin/accounts/user/{superadmin.pk}/password/")

    assert response.status_code == 404


def test_an_admin_cannot_search_their_way_to_a_super_admin(admin_user, superadmin):
    response = signed_in_client(admin_user).get("/admin/accounts/user/?q=root")

    assert list(response.context["cl"].result_list) == []


# --- What an admin may change ----------------------------------------------------------------

def test_an_admin_edits_a_customer_account(admin_user, customer):
    client = signed_in_client(admin_user)
    data = admin_form_data(client, change_url(customer), email_verified=False)

    response = client.post(change_url(customer), data)

    assert response.status_code == 302
    customer.refresh_from_db()
    assert not customer.email_verified


def test_an_admin_adds_a_customer_account(admin_user):
    client = signed_in_client(admin_user)

    response = client.post("/admin/accounts/user/add/", {
        "email": "added@example.com", "username": "added", "usable_password": "true",
        "password1": "a fine long passphrase", "password2": "a fine long passphrase"})

    assert response.status_code == 302
    added = User.objects.get(email="added@example.com")
    assert (added.role, added.is_staff) == (Role.USER, False)


def test_an_email_taken_in_another_case_is_refused_with_a_clear_message(admin_user, customer):
    client = signed_in_client(admin_user)
    data = admin_form_data(client, change_url(customer), email=admin_user.email.upper())

    response = client.post(change_url(customer), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "An account with this e-mail address already exists."]
    customer.refresh_from_db()
    assert customer.email == "alice@example.com"


def test_an_admin_sees_no_role_or_permission_fields(admin_user, customer):
    response = signed_in_client(admin_user).get(change_url(customer))

    fields = set(response.context["adminform"].form.fields)
    assert not fields & {"role", "groups", "user_permissions", "is_staff", "is_superuser"}


def test_an_admin_cannot_promote_a_customer_by_posting_a_role(admin_user, customer):
    client = signed_in_client(admin_user)
    data = admin_form_data(client, change_url(customer), role=Role.SUPERADMIN,
                           is_superuser="on", is_staff="on")

    client.post(change_url(customer), data)

    customer.refresh_from_db()
    assert customer.role == Role.USER
    assert not customer.is_staff and not customer.is_superuser
    assert not events("accounts.role_changed")


def test_an_admin_cannot_edit_another_staff_account(admin_user):
    peer = UserFactory(role=Role.ADMIN)
    client = signed_in_client(admin_user)

    response = client.post(change_url(peer), {"email": "taken-over@example.com"})

    assert response.status_code == 403
    peer.refresh_from_db()
    assert peer.email != "taken-over@example.com"


def test_an_admin_cannot_reset_another_staff_members_password(admin_user):
    peer = UserFactory(role=Role.ADMIN)

    response = signed_in_client(admin_user).post(
        f"/admin/accounts/user/{peer.pk}/password/",
        {"password1": "a brand new passphrase", "password2": "a brand new passphrase"})

    assert response.status_code == 403


def test_nobody_deletes_accounts_in_the_admin(superadmin, customer):
    response = signed_in_client(superadmin).get(f"/admin/accounts/user/{customer.pk}/delete/")

    assert response.status_code == 403
    assert User.objects.filter(pk=customer.pk).exists()


@pytest.mark.parametrize("path", ["/admin/django_celery_beat/periodictask/",
                                  "/admin/django_celery_beat/crontabschedule/",
                                  "/admin/auth/group/", "/admin/otp_totp/totpdevice/",
                                  "/admin/otp_static/staticdevice/"])
def test_an_admin_has_no_access_to_settings_roles_or_devices(admin_user, path):
    response = signed_in_client(admin_user).get(path)

    assert response.status_code == 403


def test_an_admin_granted_group_permissions_still_cannot_edit_roles(admin_user):
    admin_user.user_permissions.add(permission("auth.view_group"), permission("auth.change_group"))
    group = Group.objects.get(name=Role.ADMIN)
    client = signed_in_client(admin_user)

    response = client.post(f"/admin/auth/group/{group.pk}/change/",
                           {"permissions": [str(p.pk) for p in Permission.objects.all()]})

    assert response.status_code == 403
    assert not group.permissions.filter(content_type__app_label="django_celery_beat").exists()


def test_an_admin_granted_device_permissions_still_cannot_add_a_device(admin_user, superadmin):
    admin_user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label__in=["otp_totp", "otp_static"]))
    client = signed_in_client(admin_user)
    before = TOTPDevice.objects.filter(user=superadmin).count()

    response = client.post("/admin/otp_totp/totpdevice/add/", {
        "user": str(superadmin.pk), "name": "planted", "key": "3132333435363738393031323334353637383930",
        "step": "30", "t0": "0", "digits": "6", "tolerance": "1", "drift": "0", "confirmed": "on"})

    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=superadmin).count() == before


def test_the_admin_index_shows_an_admin_no_settings_roles_or_devices(admin_user):
    response = signed_in_client(admin_user).get("/admin/")

    apps = {app["app_label"] for app in response.context["app_list"]}
    assert "accounts" in apps
    assert not apps & {"django_celery_beat", "auth", "otp_totp", "otp_static"}


@pytest.mark.parametrize("path", ["/admin/django_celery_beat/periodictask/", "/admin/auth/group/",
                                  "/admin/otp_totp/totpdevice/", "/admin/otp_static/staticdevice/"])
def test_a_super_admin_reaches_settings_roles_and_devices(superadmin, path):
    response = signed_in_client(superadmin).get(path)

    assert response.status_code == 200


# --- Roles and permissions changed by a super admin ------------------------------------------

def test_a_role_change_in_the_admin_is_audited_and_moves_the_group(superadmin, customer):
    client = signed_in_client(superadmin)
    data = admin_form_data(client, change_url(customer), role=Role.DISTRIBUTOR)

    response = client.post(change_url(customer), data)

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.role == Role.DISTRIBUTOR
    assert list(customer.groups.values_list("name", flat=True)) == [Role.DISTRIBUTOR]
    [event] = events("accounts.role_changed")
    assert event.actor == superadmin
    assert event.details == {"from": Role.USER, "to": Role.DISTRIBUTOR}


def test_a_super_admin_keeps_their_own_role(superadmin):
    client = signed_in_client(superadmin)
    data = admin_form_data(client, change_url(superadmin), role=Role.USER)

    response = client.post(change_url(superadmin), data, follow=True)

    assert "You cannot take the super admin role from yourself." in response.content.decode()
    superadmin.refresh_from_db()
    assert superadmin.role == Role.SUPERADMIN
    assert superadmin.is_superuser


def test_a_grant_to_an_admin_in_the_user_form_is_audited(superadmin, admin_user):
    client = signed_in_client(superadmin)
    grant = permission("django_celery_beat.view_periodictask")
    data = admin_form_data(client, change_url(admin_user), user_permissions=[str(grant.pk)])

    client.post(change_url(admin_user), data)

    [event] = events("accounts.permissions_changed")
    assert event.actor == superadmin
    assert event.target_id == str(admin_user.pk)
    assert event.details == {"granted": ["django_celery_beat.view_periodictask"], "revoked": []}
    assert User.objects.get(pk=admin_user.pk).has_perm("django_celery_beat.view_periodictask")


def test_the_granted_admin_then_sees_the_periodic_tasks(superadmin, admin_user):
    admin_user.user_permissions.add(permission("django_celery_beat.view_periodictask"))

    response = signed_in_client(admin_user).get("/admin/django_celery_beat/periodictask/")

    assert response.status_code == 200


def test_withdrawing_a_grant_is_audited(superadmin, admin_user):
    admin_user.user_permissions.add(permission("django_celery_beat.view_periodictask"))
    client = signed_in_client(superadmin)
    data = admin_form_data(client, change_url(admin_user), user_permissions=[])

    client.post(change_url(admin_user), data)

    [event] = events("accounts.permissions_changed")
    assert event.details == {"granted": [], "revoked": ["django_celery_beat.view_periodictask"]}


def test_saving_the_user_form_unchanged_records_no_permission_change(superadmin, admin_user):
    client = signed_in_client(superadmin)

    client.post(change_url(admin_user), admin_form_data(client, change_url(admin_user)))

    assert not events("accounts.permissions_changed")
    assert not events("accounts.role_changed")


def test_adding_an_account_to_a_group_in_the_user_form_is_audited(superadmin, admin_user):
    auditors = Group.objects.create(name="auditors")
    auditors.permissions.add(permission("django_celery_beat.view_periodictask"))
    client = signed_in_client(superadmin)
    admin_group = Group.objects.get(name=Role.ADMIN)
    data = admin_form_data(client, change_url(admin_user),
                           groups=[str(admin_group.pk), str(auditors.pk)])

    client.post(change_url(admin_user), data)

    assert set(admin_user.groups.values_list("name", flat=True)) == {Role.ADMIN, "auditors"}
    [event] = events("accounts.permissions_changed")
    assert event.details == {"granted": ["group:auditors"], "revoked": []}


def test_a_grant_to_the_admin_group_is_audited(superadmin):
    client = signed_in_client(superadmin)
    group = Group.objects.get(name=Role.ADMIN)
    url = f"/admin/auth/group/{group.pk}/change/"
    held = [str(pk) for pk in group.permissions.values_list("pk", flat=True)]
    grant = permission("accounts.view_apitoken")

    client.post(url, admin_form_data(client, url, permissions=[*held, str(grant.pk)]))

    [event] = events("accounts.permissions_changed")
    assert (event.actor, event.target_type, event.target_label) == (superadmin, "auth.group",
                                                                     Role.ADMIN)
    assert event.details == {"granted": ["accounts.view_apitoken"], "revoked": []}
    assert group.permissions.filter(pk=grant.pk).exists()


def test_the_role_groups_cannot_be_deleted(superadmin):
    group = Group.objects.get(name=Role.ADMIN)

    response = signed_in_client(superadmin).get(f"/admin/auth/group/{group.pk}/delete/")

    assert response.status_code == 403


def test_the_role_groups_cannot_be_renamed(superadmin):
    client = signed_in_client(superadmin)
    group = Group.objects.get(name=Role.ADMIN)
    url = f"/admin/auth/group/{group.pk}/change/"

    response = client.get(url)

    assert "name" not in response.context["adminform"].form.fields
