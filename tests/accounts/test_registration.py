"""Registration: page and API create an unverified customer and mail a verification link."""

import pytest

from apps.accounts.models import Role, User
from tests.accounts.helpers import STRONG_PASSWORD, error_of, events, link_in, mails_to

pytestmark = pytest.mark.django_db


def register_api(client, **overrides):
    data = {"email": "new@example.com", "username": "newcomer", "password": STRONG_PASSWORD}
    return client.post("/api/user/register", {**data, **overrides}, format="json")


def register_page(client, **overrides):
    data = {"email": "new@example.com", "username": "newcomer", "password": STRONG_PASSWORD}
    return client.post("/accounts/register/", {**data, **overrides})


# --- What a registration creates ----------------------------------------------------------

def test_api_registration_creates_an_unverified_customer(anon_api):
    response = register_api(anon_api)

    assert response.status_code == 202
    assert response.json()["user_id"] is None  # the same answer as for a taken address
    user = User.objects.get(email="new@example.com")
    assert user.role == Role.USER
    assert not user.email_verified
    assert not user.is_staff and not user.is_superuser
    assert user.check_password(STRONG_PASSWORD)
    assert list(user.groups.values_list("name", flat=True)) == [Role.USER]


def test_registration_keeps_the_language_the_visitor_reads(anon_api):
    response = anon_api.post("/api/user/register", {
        "email": "new@example.com", "username": "newcomer", "password": STRONG_PASSWORD},
        format="json", headers={"accept-language": "zh-hans"})

    assert response.status_code == 202
    assert User.objects.get(email="new@example.com").language == "zh-hans"


def test_api_registration_never_returns_the_password(anon_api):
    response = register_api(anon_api)

    assert STRONG_PASSWORD not in response.content.decode()


def test_registration_mails_a_verification_link_on_the_panel_url(anon_api, settings):
    settings.PANEL_URL = "https://panel.example.net"

    register_api(anon_api)

    [mail] = mails_to("new@example.com", template="verify-email")
    assert link_in(mail).startswith("https://panel.example.net/accounts/verify/")


def test_registration_is_audited_without_the_password(anon_api):
    register_api(anon_api)

    [event] = events("accounts.registered")
    assert event.target_label == "new@example.com"
    assert STRONG_PASSWORD not in str(event.details)


def test_registration_page_creates_the_account_and_says_to_check_the_inbox(anon_client):
    response = register_page(anon_client)

    assert response.status_code == 200
    assert "new@example.com" in response.content.decode()
    assert "Check your inbox" in response.content.decode()
    assert User.objects.filter(email="new@example.com", email_verified=False).exists()
    assert len(mails_to("new@example.com")) == 1


def test_registration_page_renders_for_a_visitor(anon_client):
    response = anon_client.get("/accounts/register/")

    assert response.status_code == 200
    assert b'name="password"' in response.content


# Taken addresses and usernames: tests/accounts/test_registration_same_answer.py


# --- Bad input: 400 with the field, nothing created ---------------------------------------

@pytest.mark.parametrize("password", ["short", "1234567890123", "password123", "newcomer-new"])
def test_api_refuses_a_weak_password_with_a_field_error(anon_api, password):
    response = register_api(anon_api, password=password)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "weak_password"
    assert error["fields"]["password"]
    assert not User.objects.exists()
    assert mails_to("new@example.com") == []


def test_registration_page_refuses_a_weak_password_with_a_field_error(anon_client):
    response = register_page(anon_client, password="short")

    assert response.status_code == 400
    assert response.context["form"].errors["password"]
    assert not User.objects.exists()


def test_api_lists_every_missing_field(anon_api):
    response = anon_api.post("/api/user/register", {}, format="json")

    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"email", "username", "password"}
    assert not User.objects.exists()


def test_api_refuses_a_malformed_email_and_username(anon_api):
    response = register_api(anon_api, email="not-an-address", username="no spaces!")

    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"email", "username"}


def test_api_answers_malformed_json_with_400(anon_api):
    response = anon_api.post("/api/user/register", '{"email": "new@', content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_api_answers_a_json_list_with_400(anon_api):
    response = anon_api.post("/api/user/register", "[1, 2]", content_type="application/json")

    assert response.status_code == 400
    assert not User.objects.exists()


def test_registration_page_without_fields_shows_the_form_again(anon_client):
    response = anon_client.post("/accounts/register/", {})

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"email", "username", "password"}
