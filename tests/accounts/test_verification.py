"""E-mail verification: the signed, expiring link; resending it; no sign-in before it."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from apps.accounts import services
from apps.accounts.models import User
from tests.accounts.helpers import (
    STRONG_PASSWORD,
    api_login,
    error_of,
    events,
    link_in,
    mails_to,
    page_login,
    path_of,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def token_from_mail(user) -> str:
    [mail] = mails_to(user.email, template="verify-email")[-1:]
    return path_of(link_in(mail)).removeprefix("/accounts/verify/").rstrip("/")


@pytest.fixture
def registered(anon_api):
    anon_api.post("/api/user/register", {"email": "new@example.com", "username": "newcomer",
                                         "password": STRONG_PASSWORD}, format="json")
    return User.objects.get(email="new@example.com")


# --- Following the link --------------------------------------------------------------------

def test_following_the_mailed_link_verifies_and_sends_to_sign_in(registered, anon_client):
    link = link_in(mails_to(registered.email, template="verify-email")[0])

    response = anon_client.get(path_of(link), follow=True)

    assert response.redirect_chain[-1][0] == "/accounts/login/"
    assert "Your e-mail address is verified" in response.content.decode()
    registered.refresh_from_db()
    assert registered.email_verified


def test_api_verifies_with_the_token_from_the_link(registered, anon_api):
    response = anon_api.post("/api/user/verify", {"token": token_from_mail(registered)}, format="json")

    assert response.status_code == 200
    assert response.json()["user"]["email_verified"] is True
    registered.refresh_from_db()
    assert registered.email_verified


def test_verification_is_audited_once_even_if_the_link_is_followed_twice(registered, anon_client):
    path = path_of(link_in(mails_to(registered.email)[0]))

    anon_client.get(path)
    second = anon_client.get(path)

    assert second.status_code == 302
    assert len(events("accounts.email_verified", target_id=str(registered.pk))) == 1


def test_the_audit_event_does_not_carry_the_token(registered, anon_api):
    token = token_from_mail(registered)
    anon_api.post("/api/user/verify", {"token": token}, format="json")

    [event] = events("accounts.email_verified")
    assert token not in str(event.details)


def test_a_verified_account_can_sign_in(registered, anon_api):
    anon_api.post("/api/user/verify", {"token": token_from_mail(registered)}, format="json")

    response = api_login(anon_api, registered.email, STRONG_PASSWORD)

    assert response.status_code == 200


# --- Bad or expired links: 400 ---------------------------------------------------------------

def test_an_expired_link_is_refused_on_the_page(unverified, anon_client, settings):
    settings.EMAIL_VERIFICATION_MAX_AGE = 3600
    with time_machine.travel(timezone.now() - dt.timedelta(hours=2)):
        token = services.verification_token(unverified)

    response = anon_client.get(f"/accounts/verify/{token}/")

    assert response.status_code == 400
    assert "This verification link has expired" in response.content.decode()
    unverified.refresh_from_db()
    assert not unverified.email_verified


def test_an_expired_token_is_refused_by_the_api(unverified, anon_api, settings):
    settings.EMAIL_VERIFICATION_MAX_AGE = 3600
    token = services.verification_token(unverified)

    with time_machine.travel(timezone.now() + dt.timedelta(seconds=3601)):
        response = anon_api.post("/api/user/verify", {"token": token}, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "token_expired"
    unverified.refresh_from_db()
    assert not unverified.email_verified


def test_a_link_just_inside_its_lifetime_still_works(unverified, anon_api, settings):
    settings.EMAIL_VERIFICATION_MAX_AGE = 3600
    token = services.verification_token(unverified)

    with time_machine.travel(timezone.now() + dt.timedelta(seconds=3500)):
        response = anon_api.post("/api/user/verify", {"token": token}, format="json")

    assert response.status_code == 200


@pytest.mark.parametrize("token", ["garbage", "eyJ1IjoxfQ:1abc:def", ""])
def test_a_forged_token_is_refused_by_the_api(unverified, anon_api, token):
    response = anon_api.post("/api/user/verify", {"token": token}, format="json")

    assert response.status_code == 400
    unverified.refresh_from_db()
    assert not unverified.email_verified


def test_a_tampered_link_is_refused_on_the_page(unverified, anon_client):
    token = services.verification_token(unverified)

    response = anon_client.get(f"/accounts/verify/{token[:-2]}xx/")

    assert response.status_code == 400
    assert "This verification link is not valid" in response.content.decode()


def test_a_link_for_an_address_since_changed_is_refused(unverified, anon_api):
    token = services.verification_token(unverified)
    unverified.email = "changed@example.com"
    unverified.save()

    response = anon_api.post("/api/user/verify", {"token": token}, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "token_invalid"


def test_api_verify_without_a_token_names_the_field(anon_api, db):
    response = anon_api.post("/api/user/verify", {}, format="json")

    assert response.status_code == 400
    assert "token" in error_of(response)["fields"]


def test_api_verify_with_malformed_json_is_400(anon_api, db):
    response = anon_api.post("/api/user/verify", "{token", content_type="application/json")

    assert response.status_code == 400


def test_api_verify_with_a_non_string_token_is_400(anon_api, db):
    response = anon_api.post("/api/user/verify", {"token": ["a", "b"]}, format="json")

    assert response.status_code == 400


# --- Unverified accounts cannot sign in ------------------------------------------------------

def test_an_unverified_account_gets_email_unverified_from_the_api(unverified, anon_api):
    response = api_login(anon_api, unverified.email)

    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "email_unverified"
    assert unverified.email in error["message"]
    assert "token" not in response.json()


def test_an_unverified_account_is_told_why_on_the_login_page(unverified, anon_client):
    response = page_login(anon_client, unverified.email)

    assert response.status_code == 403
    assert "Your e-mail address is not verified yet" in response.content.decode()
    assert "_auth_user_id" not in anon_client.session


def test_an_unverified_sign_in_attempt_is_audited_as_a_failure(unverified, anon_api):
    api_login(anon_api, unverified.email)

    [event] = events("accounts.login_failed")
    assert event.details == {"reason": "email_unverified"}


def test_an_unverified_account_with_a_wrong_password_learns_nothing_more(unverified, anon_api):
    response = api_login(anon_api, unverified.email, "wrong password entirely")

    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_credentials"


# --- Asking for a new link -------------------------------------------------------------------

def test_resend_page_mails_a_fresh_link_to_an_unverified_account(unverified, anon_client):
    response = anon_client.post("/accounts/verify/resend/", {"email": unverified.email.upper()},
                                follow=True)

    assert "a new link is on its way" in response.content.decode()
    [mail] = mails_to(unverified.email, template="verify-email")
    assert anon_client.get(path_of(link_in(mail))).status_code == 302
    unverified.refresh_from_db()
    assert unverified.email_verified


def test_resend_api_mails_a_fresh_link(unverified, anon_api):
    response = anon_api.post("/api/user/resend_verification", {"email": unverified.email},
                             format="json")

    assert response.status_code == 200
    assert len(mails_to(unverified.email, template="verify-email")) == 1
    assert len(events("accounts.verification_resent")) == 1


@pytest.mark.parametrize("email", ["nobody@example.com", "done@example.com"])
def test_resend_gives_the_same_answer_for_unknown_and_verified_addresses(anon_api, email):
    UserFactory(email="done@example.com", username="done", email_verified=True)

    response = anon_api.post("/api/user/resend_verification", {"email": email}, format="json")

    assert response.status_code == 200
    assert "a new link is on its way" in response.json()["message"]
    assert mails_to(email) == []


def test_resend_page_prefills_the_address_from_the_link(anon_client, db):
    response = anon_client.get("/accounts/verify/resend/?email=new%40example.com")

    assert response.status_code == 200
    assert b'value="new@example.com"' in response.content


def test_resend_api_without_an_address_is_400(anon_api, db):
    response = anon_api.post("/api/user/resend_verification", {}, format="json")

    assert response.status_code == 400
    assert "email" in error_of(response)["fields"]


def test_resend_page_with_a_bad_address_is_400(anon_client, db):
    response = anon_client.post("/accounts/verify/resend/", {"email": "nope"})

    assert response.status_code == 400
    assert "email" in response.context["form"].errors
