"""POST /api/user/login issues a bearer token (after the OTP when there is MFA); logout revokes it."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken
from tests.accounts.helpers import api_login, error_of, events
from tests.conftest import signed_in_client, token_client
from tests.factories import current_totp, enrol_totp

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> APIClient:
    client = APIClient(headers={"accept-language": "en"})
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_login_returns_a_token_that_opens_the_api(customer, anon_api):
    response = api_login(anon_api, customer.email)

    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == customer.email
    me = bearer(body["token"]).get("/api/user/me")
    assert me.status_code == 200
    assert me.json()["user"]["id"] == customer.pk


def test_only_a_hash_of_the_token_is_stored(customer, anon_api):
    raw = api_login(anon_api, customer.email).json()["token"]

    token = ApiToken.objects.get(user=customer)
    assert token.key_hash != raw
    assert raw not in token.key_hash


def test_login_is_audited_without_the_token_or_password(customer, anon_api):
    raw = api_login(anon_api, customer.email).json()["token"]

    [event] = events("accounts.login")
    assert event.actor == customer
    assert event.details == {"method": "api", "token_prefix": raw[3:9]}
    assert raw not in str(event.details)


def test_a_wrong_password_is_401_invalid_credentials(customer, anon_api):
    response = api_login(anon_api, customer.email, "not the password at all")

    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_credentials"
    assert not ApiToken.objects.exists()
    assert events("accounts.login_failed")[0].details == {"reason": "bad_credentials"}


def test_the_email_is_matched_in_any_case(customer, anon_api):
    response = api_login(anon_api, customer.email.upper())

    assert response.status_code == 200


def test_missing_fields_are_listed(anon_api, db):
    response = anon_api.post("/api/user/login", {"email": "a@example.com"}, format="json")

    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"password"}


def test_malformed_json_is_400(anon_api, db):
    response = anon_api.post("/api/user/login", '{"email": ', content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_a_json_string_instead_of_an_object_is_400(anon_api, db):
    response = anon_api.post("/api/user/login", '"hello"', content_type="application/json")

    assert response.status_code == 400


def test_login_ignores_a_session_cookie(customer, anon_api):
    """The login endpoint authenticates by the posted credentials only."""
    anon_api.force_login(customer)

    response = api_login(anon_api, customer.email, "not the password at all")

    assert response.status_code == 401


# --- MFA on the API --------------------------------------------------------------------------

def test_a_user_with_mfa_must_send_the_code(customer, anon_api):
    enrol_totp(customer)

    response = api_login(anon_api, customer.email)

    assert response.status_code == 401
    assert error_of(response)["code"] == "otp_required"
    assert not ApiToken.objects.exists()


def test_a_wrong_code_is_401_otp_invalid_and_audited(customer, anon_api):
    device = enrol_totp(customer)
    wrong = f"{(int(current_totp(device)) + 1) % 1_000_000:06d}"

    response = api_login(anon_api, customer.email, otp=wrong)

    assert response.status_code == 401
    assert error_of(response)["code"] == "otp_invalid"
    assert not ApiToken.objects.exists()
    [event] = events("accounts.login_failed")
    assert event.details == {"reason": "otp_invalid"}
    assert wrong not in str(event.details)


def test_the_current_code_gets_the_token(customer, anon_api, frozen_clock):
    device = enrol_totp(customer)

    response = api_login(anon_api, customer.email, otp=current_totp(device))

    assert response.status_code == 200
    assert bearer(response.json()["token"]).get("/api/user/me").status_code == 200


def test_the_same_code_cannot_be_replayed(customer, anon_api, frozen_clock):
    device = enrol_totp(customer)
    code = current_totp(device)
    api_login(anon_api, customer.email, otp=code)

    response = api_login(anon_api, customer.email, otp=code)

    assert response.status_code == 401
    assert error_of(response)["code"] == "otp_invalid"


def test_the_next_code_works_once_time_moves_on(customer, anon_api, frozen_clock):
    device = enrol_totp(customer)
    api_login(anon_api, customer.email, otp=current_totp(device))

    frozen_clock.shift(dt.timedelta(seconds=31))
    response = api_login(anon_api, customer.email, otp=current_totp(device))

    assert response.status_code == 200
    assert ApiToken.objects.filter(user=customer).count() == 2


@pytest.mark.parametrize("persona", ["superadmin", "admin_user", "distributor"])
def test_staff_and_distributors_without_mfa_are_told_to_set_it_up(persona, request, anon_api):
    user = request.getfixturevalue(persona)

    response = api_login(anon_api, user.email)

    assert response.status_code == 403
    assert error_of(response)["code"] == "mfa_setup_required"
    assert not ApiToken.objects.exists()


def test_an_admin_with_mfa_gets_a_token_with_the_code(admin_user, anon_api, frozen_clock):
    device = enrol_totp(admin_user)

    response = api_login(anon_api, admin_user.email, otp=current_totp(device))

    assert response.status_code == 200


def test_a_distributor_may_go_without_mfa_when_the_operator_relaxes_it(distributor, anon_api,
                                                                       settings):
    settings.MFA_REQUIRED_FOR_DISTRIBUTORS = False

    response = api_login(anon_api, distributor.email)

    assert response.status_code == 200


# --- Logout and token lifetime ---------------------------------------------------------------

def test_logout_revokes_the_token(customer, anon_api):
    raw = api_login(anon_api, customer.email).json()["token"]
    client = bearer(raw)

    response = client.post("/api/user/logout")

    assert response.status_code == 200
    assert client.get("/api/user/me").status_code == 401
    assert not ApiToken.objects.filter(user=customer).exists()


def test_logout_leaves_other_tokens_alive(customer):
    first, second = token_client(customer), token_client(customer)

    first.post("/api/user/logout")

    assert second.get("/api/user/me").status_code == 200


def test_logout_is_audited_without_the_token(customer, anon_api):
    raw = api_login(anon_api, customer.email).json()["token"]

    bearer(raw).post("/api/user/logout")

    [event] = events("accounts.logout")
    assert event.actor == customer
    assert event.details["method"] == "api"
    assert raw not in str(event.details)


def test_logout_without_a_token_is_401(anon_api, db):
    response = anon_api.post("/api/user/logout")

    assert response.status_code == 401


def test_logout_from_a_browser_session_says_a_token_is_needed(customer):
    client = signed_in_client(customer)

    response = client.post("/api/user/logout")

    assert response.status_code == 400
    assert error_of(response)["code"] == "no_token"


def test_an_unknown_token_is_401_with_a_bearer_challenge(anon_api, db):
    response = bearer("dm_not-a-real-token").get("/api/user/me")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_token_unused_for_longer_than_the_idle_limit_dies(customer, settings):
    settings.API_TOKEN_IDLE_DAYS = 30
    client = token_client(customer)

    with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
        response = client.get("/api/user/me")

    assert response.status_code == 401


def test_a_token_in_use_stays_alive(customer, settings):
    settings.API_TOKEN_IDLE_DAYS = 30
    client = token_client(customer)
    start = timezone.now()

    with time_machine.travel(start + dt.timedelta(days=20)):
        client.get("/api/user/me")
    with time_machine.travel(start + dt.timedelta(days=45)):
        response = client.get("/api/user/me")

    assert response.status_code == 200


def test_a_deactivated_account_token_is_refused(customer):
    client = token_client(customer)
    customer.is_active = False
    customer.save()

    assert client.get("/api/user/me").status_code == 401
