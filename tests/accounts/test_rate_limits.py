"""Rate limits on sign-in, registration, verification resend and password reset.

Every limit starts generous; each test lowers the one it checks to two attempts in ten minutes,
so the third attempt is the one refused. The clock stands still, so no window rolls over
mid-test.
"""

import datetime as dt
import math
import re

import pytest

from apps.accounts.models import User
from tests.accounts.helpers import STRONG_PASSWORD, api_login, error_of, mails_to, page_login
from tests.factories import current_totp, enrol_totp

pytestmark = pytest.mark.django_db

TRY_AGAIN = re.compile(r"Too many attempts\. Please try again in (\d+) minutes?\.")


@pytest.fixture(autouse=True)
def limits(settings, frozen_clock):
    for name in ("RATE_LOGIN_PER_IP", "RATE_LOGIN_PER_ACCOUNT", "RATE_LOGIN_PER_ACCOUNT_IP",
                 "LOGIN_SLOWDOWN_AFTER", "RATE_REGISTER_PER_IP",
                 "RATE_RESEND_PER_ACCOUNT", "RATE_PASSWORD_RESET_PER_IP",
                 "RATE_PASSWORD_RESET_PER_ACCOUNT"):
        setattr(settings, name, "100/10m")
    return settings


def assert_api_rate_limited(response):
    assert response.status_code == 429
    error = error_of(response)
    assert error["code"] == "rate_limited"
    assert 0 < error["retry_after"] <= 600
    assert response["Retry-After"] == str(error["retry_after"])
    minutes = int(TRY_AGAIN.search(error["message"]).group(1))
    assert minutes == math.ceil(error["retry_after"] / 60)


def assert_page_rate_limited(response):
    assert response.status_code == 429
    assert TRY_AGAIN.search(response.content.decode()), response.content.decode()


# --- Sign-in ---------------------------------------------------------------------------------

def test_login_api_is_limited_per_address(limits, anon_api, customer, stranger):
    limits.RATE_LOGIN_PER_IP = "2/10m"
    api_login(anon_api, customer.email, "wrong password one")
    api_login(anon_api, stranger.email, "wrong password two")

    response = api_login(anon_api, "third@example.com", "wrong password three")

    assert_api_rate_limited(response)


def test_login_api_is_limited_per_account_from_one_address(limits, anon_api, customer):
    limits.RATE_LOGIN_PER_ACCOUNT_IP = "2/10m"
    api_login(anon_api, customer.email, "wrong guess")
    api_login(anon_api, customer.email, "wrong guess")

    response = api_login(anon_api, customer.email.upper(), "wrong guess")

    assert_api_rate_limited(response)


def test_the_limit_lifts_when_the_window_has_passed(limits, anon_api, customer,
                                                    frozen_clock):
    limits.RATE_LOGIN_PER_ACCOUNT_IP = "2/10m"
    for _attempt in range(3):
        api_login(anon_api, customer.email, "wrong guess")
    assert api_login(anon_api, customer.email).status_code == 429

    frozen_clock.shift(dt.timedelta(minutes=10, seconds=1))
    response = api_login(anon_api, customer.email)

    assert response.status_code == 200


def test_login_page_says_when_to_try_again(limits, anon_client, customer):
    limits.RATE_LOGIN_PER_IP = "2/10m"
    page_login(anon_client, customer.email, "wrong guess")
    page_login(anon_client, customer.email, "wrong guess")

    response = page_login(anon_client, customer.email)

    assert_page_rate_limited(response)
    assert "_auth_user_id" not in anon_client.session


def test_the_code_step_is_limited_per_account(limits, anon_client, customer):
    limits.RATE_LOGIN_PER_ACCOUNT = "2/10m"
    device = enrol_totp(customer)
    page_login(anon_client, customer.email)
    anon_client.post("/accounts/mfa/verify/", {"token": "000000"})
    anon_client.post("/accounts/mfa/verify/", {"token": "000001"})

    response = anon_client.post("/accounts/mfa/verify/", {"token": current_totp(device)})

    assert_page_rate_limited(response)
    assert "_auth_user_id" not in anon_client.session


# --- Registration ----------------------------------------------------------------------------

def register(client, n: int, **extra):
    return client.post("/api/user/register", {"email": f"new{n}@example.com", "username": f"new{n}",
                                              "password": STRONG_PASSWORD}, format="json", **extra)


def test_registration_api_is_limited_per_address(limits, anon_api):
    limits.RATE_REGISTER_PER_IP = "2/10m"
    register(anon_api, 1)
    register(anon_api, 2)

    response = register(anon_api, 3)

    assert_api_rate_limited(response)
    assert not User.objects.filter(email="new3@example.com").exists()


def test_registration_from_another_address_is_not_held_back(limits, anon_api):
    limits.RATE_REGISTER_PER_IP = "2/10m"
    register(anon_api, 1)
    register(anon_api, 2)

    response = register(anon_api, 3, REMOTE_ADDR="10.9.9.9")

    assert response.status_code == 202


def test_registration_page_says_when_to_try_again(limits, anon_client):
    limits.RATE_REGISTER_PER_IP = "2/10m"
    for n in range(3):
        response = anon_client.post("/accounts/register/", {
            "email": f"new{n}@example.com", "username": f"new{n}", "password": STRONG_PASSWORD})

    assert_page_rate_limited(response)
    assert User.objects.count() == 2


# --- Verification resend ---------------------------------------------------------------------

def test_resend_api_is_limited_per_address_asked_for(limits, anon_api, unverified):
    limits.RATE_RESEND_PER_ACCOUNT = "2/10m"
    for address in ("10.0.0.1", "10.0.0.2"):
        anon_api.post("/api/user/resend_verification", {"email": unverified.email}, format="json",
                      REMOTE_ADDR=address)

    response = anon_api.post("/api/user/resend_verification", {"email": unverified.email},
                             format="json", REMOTE_ADDR="10.0.0.3")

    assert_api_rate_limited(response)
    assert len(mails_to(unverified.email)) == 2


def test_resend_page_says_when_to_try_again(limits, anon_client, unverified):
    limits.RATE_RESEND_PER_ACCOUNT = "2/10m"
    for _attempt in range(3):
        response = anon_client.post("/accounts/verify/resend/", {"email": unverified.email})

    assert_page_rate_limited(response)


def test_resend_respects_the_outbox_limit_per_recipient(limits, anon_api, unverified):
    limits.EMAIL_RATE_LIMIT_COUNT = 1
    anon_api.post("/api/user/resend_verification", {"email": unverified.email}, format="json")

    response = anon_api.post("/api/user/resend_verification", {"email": unverified.email},
                             format="json")

    assert_api_rate_limited(response)
    assert len(mails_to(unverified.email)) == 1


# --- Password reset --------------------------------------------------------------------------

def ask_reset(client, email: str, **extra):
    return client.post("/accounts/password/reset/", {"email": email}, **extra)


def test_password_reset_is_limited_per_account(limits, anon_client, customer):
    limits.RATE_PASSWORD_RESET_PER_ACCOUNT = "2/10m"
    ask_reset(anon_client, customer.email, REMOTE_ADDR="10.0.0.1")
    ask_reset(anon_client, customer.email, REMOTE_ADDR="10.0.0.2")

    response = ask_reset(anon_client, customer.email.upper(), REMOTE_ADDR="10.0.0.3")

    assert_page_rate_limited(response)
    assert len(mails_to(customer.email, template="password-reset")) == 2


def test_password_reset_is_limited_per_address(limits, anon_client, customer):
    limits.RATE_PASSWORD_RESET_PER_IP = "2/10m"
    ask_reset(anon_client, "one@example.com")
    ask_reset(anon_client, "two@example.com")

    response = ask_reset(anon_client, customer.email)

    assert_page_rate_limited(response)
    assert mails_to(customer.email) == []
