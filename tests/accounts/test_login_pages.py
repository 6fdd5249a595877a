"""Signing in and out on the panel's pages (password step; the MFA step is in test_mfa)."""

import pytest

from tests.accounts.helpers import events, page_login
from tests.conftest import signed_in_client
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def signed_in_as(client):
    return client.session.get("_auth_user_id")


def test_login_page_shows_the_form_and_the_way_to_reset_or_register(anon_client):
    response = anon_client.get("/accounts/login/")

    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="email"' in body and 'name="password"' in body
    assert "/accounts/password/reset/" in body
    assert "/accounts/register/" in body


def test_a_customer_signs_in_with_email_and_password_and_lands_on_their_rental(customer, anon_client):
    response = page_login(anon_client, customer.email, follow=True)

    assert response.redirect_chain[-1][0] == "/accounts/me/"
    assert signed_in_as(anon_client) == str(customer.pk)


def test_the_email_is_matched_in_any_case(customer, anon_client):
    page_login(anon_client, customer.email.upper())

    assert signed_in_as(anon_client) == str(customer.pk)


def test_a_successful_sign_in_is_audited(customer, anon_client):
    page_login(anon_client, customer.email)

    [event] = events("accounts.login")
    assert event.actor == customer
    assert event.details == {"method": "password"}
    assert event.ip == "127.0.0.1"


def test_a_wrong_password_is_refused_with_401_and_a_plain_message(customer, anon_client):
    response = page_login(anon_client, customer.email, "not the password at all")

    assert response.status_code == 401
    assert "The e-mail address or password is not right." in response.content.decode()
    assert signed_in_as(anon_client) is None


def test_an_unknown_address_gets_the_same_answer_as_a_wrong_password(anon_client, db):
    response = page_login(anon_client, "nobody@example.com")

    assert response.status_code == 401
    assert "The e-mail address or password is not right." in response.content.decode()


def test_a_failed_sign_in_is_audited_without_the_password(customer, anon_client):
    page_login(anon_client, customer.email, "not the password at all")

    [event] = events("accounts.login_failed")
    assert event.actor is None
    assert event.actor_label == customer.email
    assert event.target_id == str(customer.pk)
    assert event.details == {"reason": "bad_credentials"}
    assert "not the password" not in str(event.details)


def test_a_deactivated_account_cannot_sign_in(anon_client, db):
    gone = UserFactory(is_active=False)

    response = page_login(anon_client, gone.email)

    assert response.status_code == 401
    assert signed_in_as(anon_client) is None
    assert events("accounts.login_failed")[0].details == {"reason": "inactive"}


def test_a_form_without_fields_is_400_with_field_errors(anon_client, db):
    response = anon_client.post("/accounts/login/", {})

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"email", "password"}


def test_sign_in_returns_to_a_local_next_page(customer, anon_client):
    response = anon_client.post("/accounts/login/?next=/accounts/profile/",
                                {"email": customer.email, "password": PASSWORD,
                                 "next": "/accounts/profile/"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"


def test_sign_in_ignores_a_next_page_on_another_site(customer, anon_client):
    response = page_login(anon_client, customer.email, next="https://evil.example.com/")

    assert response["Location"] == "/"


def test_a_signed_in_visitor_of_the_login_page_goes_home(customer):
    client = signed_in_client(customer)

    response = client.get("/accounts/login/")

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_pages_for_members_send_a_visitor_to_sign_in(anon_client, db):
    response = anon_client.get("/accounts/profile/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/profile/"


# --- Signing out ---------------------------------------------------------------------------

def test_signing_out_ends_the_session(customer):
    client = signed_in_client(customer)

    response = client.post("/accounts/logout/", follow=True)

    assert response.redirect_chain[-1][0] == "/accounts/login/"
    assert "You are signed out." in response.content.decode()
    assert signed_in_as(client) is None
    assert client.get("/accounts/me/").status_code == 302


def test_signing_out_is_audited(customer):
    client = signed_in_client(customer)

    client.post("/accounts/logout/")

    [event] = events("accounts.logout")
    assert event.actor == customer
    assert event.details == {"method": "session"}


def test_sign_out_needs_a_post(customer):
    client = signed_in_client(customer)

    response = client.get("/accounts/logout/")

    assert response.status_code == 405
    assert signed_in_as(client) == str(customer.pk)


def test_the_sign_out_form_carries_a_csrf_token(customer):
    client = signed_in_client(customer)

    body = client.get("/accounts/me/").content.decode()

    assert 'action="/accounts/logout/"' in body
    assert "csrfmiddlewaretoken" in body


def test_a_signed_in_visitor_sent_back_to_sign_in_is_offered_another_account(customer):
    """A page this account may not open sent it here: bouncing back would loop."""
    client = signed_in_client(customer)

    response = client.get("/accounts/login/?next=/ops/")

    assert response.status_code == 200
    assert f"You are signed in as {customer.email}" in response.content.decode()
