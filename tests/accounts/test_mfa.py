"""TOTP with backup codes: enrolment, the code step after the password, who must have it."""

import datetime as dt
import re

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts import services
from tests.accounts.helpers import events, page_login
from tests.conftest import signed_in_client
from tests.factories import PASSWORD, current_totp, enrol_totp

pytestmark = pytest.mark.django_db

BACKUP_CODE = re.compile(r"<li><code>([a-z2-7]{8})</code></li>")


def is_verified(client) -> bool:
    return DEVICE_ID_SESSION_KEY in client.session


def signed_in_as(client):
    return client.session.get("_auth_user_id")


def enrol_through_the_pages(client) -> tuple[TOTPDevice, list[str]]:
    """Start, read the key shown, confirm with a current code; the backup codes shown once."""
    client.post("/accounts/mfa/start/")
    page = client.get("/accounts/mfa/").content.decode()
    device = TOTPDevice.objects.get(confirmed=False)
    assert services.totp_secret_base32(device) in page
    response = client.post("/accounts/mfa/confirm/", {"token": current_totp(device)}, follow=True)
    return device, BACKUP_CODE.findall(response.content.decode())


def wrong_code(device) -> str:
    return f"{(int(current_totp(device)) + 500_000) % 1_000_000:06d}"


# --- Enrolment -------------------------------------------------------------------------------

def test_the_mfa_page_offers_to_set_up_an_authenticator(customer):
    response = signed_in_client(customer).get("/accounts/mfa/")

    assert response.status_code == 200
    assert 'action="/accounts/mfa/start/"' in response.content.decode()


def test_starting_shows_a_qr_code_and_the_secret_to_type(customer):
    client = signed_in_client(customer)

    client.post("/accounts/mfa/start/")
    body = client.get("/accounts/mfa/").content.decode()

    device = TOTPDevice.objects.get(user=customer, confirmed=False)
    assert "<svg" in body
    assert services.totp_secret_base32(device) in body
    assert 'action="/accounts/mfa/confirm/"' in body


def test_starting_again_replaces_the_unfinished_device(customer):
    client = signed_in_client(customer)

    client.post("/accounts/mfa/start/")
    client.post("/accounts/mfa/start/")

    assert TOTPDevice.objects.filter(user=customer).count() == 1


def test_confirming_with_a_current_code_turns_mfa_on_and_shows_ten_backup_codes(customer,
                                                                                frozen_clock):
    client = signed_in_client(customer)

    device, codes = enrol_through_the_pages(client)

    device.refresh_from_db()
    assert device.confirmed
    assert len(set(codes)) == 10
    assert StaticToken.objects.filter(device__user=customer).count() == 10
    assert is_verified(client)


def test_backup_codes_are_shown_only_once(customer, frozen_clock):
    client = signed_in_client(customer)
    _device, codes = enrol_through_the_pages(client)

    again = client.get("/accounts/mfa/").content.decode()

    assert codes[0] not in again
    assert "Two-factor authentication is on" in again


def test_enrolment_is_audited_without_the_codes(customer, frozen_clock):
    client = signed_in_client(customer)

    _device, codes = enrol_through_the_pages(client)

    [event] = events("accounts.mfa_enrolled", actor=customer)
    assert event.details == {"device": "totp"}
    assert not any(code in str(event.details) for code in codes)


def test_a_wrong_confirmation_code_leaves_mfa_off(customer, frozen_clock):
    client = signed_in_client(customer)
    client.post("/accounts/mfa/start/")
    device = TOTPDevice.objects.get(user=customer)

    response = client.post("/accounts/mfa/confirm/", {"token": wrong_code(device)}, follow=True)

    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert not services.has_mfa(customer)


def test_confirming_without_starting_says_to_start_again(customer):
    client = signed_in_client(customer)

    response = client.post("/accounts/mfa/confirm/", {"token": "123456"}, follow=True)

    assert "Start the set-up again" in response.content.decode()


def test_new_backup_codes_replace_the_old_ones(customer, frozen_clock):
    client = signed_in_client(customer)
    _device, old_codes = enrol_through_the_pages(client)

    response = client.post("/accounts/mfa/backup-codes/", follow=True)

    new_codes = BACKUP_CODE.findall(response.content.decode())
    assert len(new_codes) == 10
    assert not set(new_codes) & set(old_codes)
    assert not StaticToken.objects.filter(token__in=old_codes).exists()


def test_backup_codes_cannot_be_renewed_from_a_session_that_skipped_the_code(customer):
    enrol_totp(customer)
    client = signed_in_client(customer)  # a session opened before MFA existed: not verified

    response = client.post("/accounts/mfa/backup-codes/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/mfa/verify/"
    assert "mfa_fresh_backup_codes" not in client.session
    assert not events("accounts.mfa_backup_codes_regenerated")


# --- The code step after the password -------------------------------------------------------

def test_a_user_with_mfa_is_asked_for_the_code_after_the_password(customer, anon_client):
    enrol_totp(customer)

    response = page_login(anon_client, customer.email)

    assert response["Location"] == "/accounts/mfa/verify/"
    assert signed_in_as(anon_client) is None
    assert not events("accounts.login")


def test_the_current_code_completes_the_sign_in(customer, anon_client, frozen_clock):
    device = enrol_totp(customer)
    page_login(anon_client, customer.email, next="/accounts/profile/")

    response = anon_client.post("/accounts/mfa/verify/", {"token": current_totp(device)})

    assert response["Location"] == "/accounts/profile/"
    assert signed_in_as(anon_client) == str(customer.pk)
    assert is_verified(anon_client)
    assert "mfa_pending_user" not in anon_client.session
    assert events("accounts.login")[0].details == {"method": "password+otp"}


def test_a_wrong_code_is_401_and_does_not_sign_in(customer, anon_client, frozen_clock):
    device = enrol_totp(customer)
    page_login(anon_client, customer.email)

    response = anon_client.post("/accounts/mfa/verify/", {"token": wrong_code(device)})

    assert response.status_code == 401
    assert "That code is not right." in response.content.decode()
    assert signed_in_as(anon_client) is None
    assert events("accounts.login_failed")[0].details == {"reason": "otp_invalid"}


def test_a_right_code_after_a_wrong_one_works_once_the_throttle_passes(customer, anon_client,
                                                                       frozen_clock):
    device = enrol_totp(customer)
    page_login(anon_client, customer.email)
    anon_client.post("/accounts/mfa/verify/", {"token": wrong_code(device)})

    frozen_clock.shift(dt.timedelta(seconds=2))
    anon_client.post("/accounts/mfa/verify/", {"token": current_totp(device)})

    assert signed_in_as(anon_client) == str(customer.pk)


def test_the_code_step_without_a_password_step_sends_back_to_sign_in(anon_client, db):
    response = anon_client.get("/accounts/mfa/verify/")

    assert response["Location"] == "/accounts/login/"


def test_the_code_step_expires_five_minutes_after_the_password(customer, anon_client, frozen_clock):
    device = enrol_totp(customer)
    page_login(anon_client, customer.email)

    frozen_clock.shift(dt.timedelta(minutes=6))
    response = anon_client.post("/accounts/mfa/verify/", {"token": current_totp(device)})

    assert response["Location"] == "/accounts/login/"
    assert signed_in_as(anon_client) is None


def test_a_backup_code_signs_in_once(customer, frozen_clock):
    enrol_totp(customer)
    code = services.regenerate_backup_codes(user=customer, ip=None)[0]

    first, second = Client(), Client()
    page_login(first, customer.email)
    first.post("/accounts/mfa/verify/", {"token": code})
    page_login(second, customer.email)
    frozen_clock.shift(dt.timedelta(seconds=2))
    response = second.post("/accounts/mfa/verify/", {"token": code})

    assert signed_in_as(first) == str(customer.pk)
    assert response.status_code == 401
    assert signed_in_as(second) is None


def test_a_backup_code_typed_in_capitals_with_spaces_is_accepted(customer, anon_client):
    enrol_totp(customer)
    code = services.regenerate_backup_codes(user=customer, ip=None)[0]

    anon_client.post("/accounts/login/", {"email": customer.email, "password": PASSWORD})
    anon_client.post("/accounts/mfa/verify/", {"token": f"{code[:4].upper()} {code[4:].upper()}"})

    assert signed_in_as(anon_client) == str(customer.pk)


# --- Who must have MFA -----------------------------------------------------------------------

@pytest.mark.parametrize("persona", ["superadmin", "admin_user", "distributor"])
def test_roles_that_require_mfa_are_sent_to_set_it_up_after_the_password(persona, request,
                                                                         anon_client):
    user = request.getfixturevalue(persona)

    response = page_login(anon_client, user.email, follow=True)

    assert response.redirect_chain[-1][0] == "/accounts/mfa/"
    assert "requires two-factor authentication" in response.content.decode()


@pytest.mark.parametrize("path", ["/", "/accounts/profile/", "/accounts/me/", "/ops/", "/ops/audit/",
                                  "/portal/", "/admin/", "/admin/accounts/user/"])
@pytest.mark.parametrize("persona", ["superadmin", "admin_user", "distributor"])
def test_without_a_device_every_page_leads_to_mfa_set_up(persona, path, request):
    client = signed_in_client(request.getfixturevalue(persona), verified=False)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/mfa/"


@pytest.mark.parametrize("persona", ["superadmin", "admin_user", "distributor"])
def test_without_a_device_session_api_calls_get_a_403_json(persona, request):
    client = signed_in_client(request.getfixturevalue(persona), verified=False)

    response = client.get("/api/user/me")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "mfa_required"


def test_a_staff_member_with_a_device_but_no_code_yet_is_sent_to_the_code_step(admin_user):
    enrol_totp(admin_user)
    client = signed_in_client(admin_user, verified=False)

    response = client.get("/ops/", follow=True)

    assert response.redirect_chain[-1][0] == "/accounts/mfa/verify/"


def test_a_staff_member_can_still_sign_out_before_setting_up_mfa(admin_user):
    client = signed_in_client(admin_user, verified=False)

    client.post("/accounts/logout/")

    assert signed_in_as(client) is None


def test_an_admin_who_sets_up_mfa_reaches_the_panel(admin_user, anon_client, frozen_clock):
    page_login(anon_client, admin_user.email)

    enrol_through_the_pages(anon_client)
    response = anon_client.get("/ops/")

    assert response.status_code == 200


def test_a_verified_staff_session_reaches_the_panel(admin_user):
    response = signed_in_client(admin_user).get("/ops/")

    assert response.status_code == 200


def test_a_customer_is_not_forced_to_use_mfa(customer):
    response = signed_in_client(customer).get("/accounts/me/")

    assert response.status_code == 200


def test_a_distributor_may_skip_mfa_when_the_operator_relaxes_it(distributor, settings):
    settings.MFA_REQUIRED_FOR_DISTRIBUTORS = False

    response = signed_in_client(distributor, verified=False).get("/accounts/profile/")

    assert response.status_code == 200


# --- Turning it off --------------------------------------------------------------------------

@pytest.mark.parametrize("persona", ["superadmin", "admin_user", "distributor"])
def test_roles_that_require_mfa_cannot_turn_it_off(persona, request, frozen_clock):
    user = request.getfixturevalue(persona)
    client = signed_in_client(user)
    device = TOTPDevice.objects.get(user=user)

    response = client.post("/accounts/mfa/disable/", {"password": PASSWORD,
                                                      "token": current_totp(device)}, follow=True)

    assert "it cannot be turned off" in response.content.decode()
    assert services.has_mfa(user)
    assert not events("accounts.mfa_disabled")


def test_the_page_offers_no_off_switch_to_roles_that_require_mfa(admin_user):
    body = signed_in_client(admin_user).get("/accounts/mfa/").content.decode()

    assert "/accounts/mfa/disable/" not in body


def test_a_customer_turns_mfa_off_with_password_and_code(customer, frozen_clock):
    client = signed_in_client(customer)
    device, _codes = enrol_through_the_pages(client)
    frozen_clock.shift(dt.timedelta(seconds=31))

    response = client.post("/accounts/mfa/disable/", {"password": PASSWORD,
                                                      "token": current_totp(device)}, follow=True)

    assert "Two-factor authentication is off." in response.content.decode()
    assert not services.has_mfa(customer)
    assert not StaticToken.objects.filter(device__user=customer).exists()
    [event] = events("accounts.mfa_disabled")
    assert event.actor == customer


def test_turning_mfa_off_needs_the_right_password(customer, frozen_clock):
    client = signed_in_client(customer)
    device, _codes = enrol_through_the_pages(client)
    frozen_clock.shift(dt.timedelta(seconds=31))

    response = client.post("/accounts/mfa/disable/", {"password": "wrong password here",
                                                      "token": current_totp(device)}, follow=True)

    assert "The password is not right." in response.content.decode()
    assert services.has_mfa(customer)


def test_a_relaxed_distributor_may_turn_mfa_off(distributor, settings, frozen_clock):
    settings.MFA_REQUIRED_FOR_DISTRIBUTORS = False
    device = enrol_totp(distributor)
    client = signed_in_client(distributor)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    client.post("/accounts/mfa/disable/", {"password": PASSWORD, "token": current_totp(device)})

    assert not services.has_mfa(distributor)
