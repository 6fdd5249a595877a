"""A whole account's life leaves one audit event per step, and no secret in any of them."""

import datetime as dt
import re

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from tests.accounts.helpers import api_login, link_in, mails_to, path_of
from tests.factories import current_totp

pytestmark = pytest.mark.django_db

PASSWORD = "first passphrase for the journey"
NEW_PASSWORD = "second passphrase after the reset"


def test_the_log_of_an_accounts_life_holds_no_password_token_or_code(frozen_clock):
    secrets = [PASSWORD, NEW_PASSWORD]
    api, browser = APIClient(), Client()

    # Register and verify.
    api.post("/api/user/register", {"email": "life@example.com", "username": "life",
                                    "password": PASSWORD}, format="json")
    verify_link = link_in(mails_to("life@example.com", template="verify-email")[0])
    secrets.append(verify_link.rstrip("/").rsplit("/", 1)[1])
    browser.get(path_of(verify_link))

    # A failed and a successful sign-in, then MFA.
    browser.post("/accounts/login/", {"email": "life@example.com", "password": "wrong " + PASSWORD})
    browser.post("/accounts/login/", {"email": "life@example.com", "password": PASSWORD})
    browser.post("/accounts/mfa/start/")
    device = TOTPDevice.objects.get(user__email="life@example.com")
    code = current_totp(device)
    secrets.append(code)
    page = browser.post("/accounts/mfa/confirm/", {"token": code}, follow=True).content.decode()
    backup_codes = re.findall(r"<li><code>(\w+)</code></li>", page)
    secrets.extend(backup_codes)
    browser.post("/accounts/logout/")

    # An API session with the next code, ended by logout.
    frozen_clock.shift(dt.timedelta(seconds=31))
    code = current_totp(device)
    secrets.append(code)
    raw = api_login(api, "life@example.com", PASSWORD, otp=code).json()["token"]
    secrets.append(raw)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    api.post("/api/user/logout")

    # A password reset.
    browser.post("/accounts/password/reset/", {"email": "life@example.com"})
    reset_link = link_in(mails_to("life@example.com", template="password-reset")[0])
    secrets.append(path_of(reset_link).rstrip("/").rsplit("/", 1)[1])
    form_url = browser.get(path_of(reset_link))["Location"]
    browser.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    user = User.objects.get(email="life@example.com")
    assert user.check_password(NEW_PASSWORD)
    logged = list(AuditEvent.objects.filter(target_id=str(user.pk)).order_by("id")
                  .values_list("action", flat=True))
    assert logged == ["accounts.registered", "accounts.email_verified", "accounts.login_failed",
                      "accounts.login", "accounts.mfa_enrolled", "accounts.logout",
                      "accounts.login", "accounts.logout", "accounts.password_reset"]
    for event in AuditEvent.objects.all():
        written = " ".join([str(event.details), event.actor_label, event.target_label])
        leaked = [secret for secret in secrets if secret in written]
        assert not leaked, (event.action, leaked)
