"""Registration cannot tell a stranger whether an address or username has an account.

A taken address or username gets exactly the answer a new one gets (API: 202 with the same body;
page: the same "check your inbox" page); the address's owner is told by e-mail that someone tried,
with the ways back in (sign in, reset the password).
"""

import re
from urllib.parse import quote

import pytest

from apps.accounts.models import User
from tests.accounts.helpers import STRONG_PASSWORD, events, mails_to
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return UserFactory(email="taken@example.com", username="first")


def register_api(client, **overrides):
    data = {"email": "new@example.com", "username": "newcomer", "password": STRONG_PASSWORD}
    return client.post("/api/user/register", {**data, **overrides}, format="json",
                       headers={"accept-language": "en"})


def register_page(client, **overrides):
    data = {"email": "new@example.com", "username": "newcomer", "password": STRONG_PASSWORD}
    return client.post("/accounts/register/", {**data, **overrides})


def without_address(content: bytes, *addresses: str) -> str:
    """The page with the address typed in and the per-response CSRF masks taken out."""
    text = re.sub(r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]+"', r"\1CSRF", content.decode())
    for address in addresses:
        text = text.replace(address, "ADDRESS").replace(quote(address), "ADDRESS")
    return text


@pytest.mark.parametrize("taken", [{"email": "taken@example.com"}, {"email": "TAKEN@Example.com"},
                                   {"username": "FIRST"},
                                   {"email": "taken@example.com", "username": "first"}])
def test_the_api_answers_a_taken_address_or_username_exactly_as_a_new_one(anon_api, owner, taken):
    fresh = register_api(anon_api, email="fresh@example.com", username="fresh")
    repeat = register_api(anon_api, **taken)

    assert fresh.status_code == repeat.status_code == 202
    assert fresh.json() == repeat.json()
    assert set(fresh.json()) == {"success", "user_id", "message"}
    assert fresh.json()["user_id"] is None
    assert "e-mail" in fresh.json()["message"]


def test_the_page_answers_a_taken_address_exactly_as_a_new_one(anon_client, owner):
    fresh = register_page(anon_client, email="fresh@example.com", username="fresh")
    repeat = register_page(anon_client, email="taken@example.com", username="other")

    assert fresh.status_code == repeat.status_code == 200
    assert (without_address(fresh.content, "fresh@example.com")
            == without_address(repeat.content, "taken@example.com"))


def test_the_page_answers_a_taken_username_exactly_as_a_new_one(anon_client, owner):
    fresh = register_page(anon_client, email="fresh@example.com", username="fresh")
    repeat = register_page(anon_client, email="new@example.com", username="First")

    assert repeat.status_code == 200
    assert (without_address(fresh.content, "fresh@example.com")
            == without_address(repeat.content, "new@example.com"))


def test_the_owner_of_a_taken_address_is_told_and_shown_the_ways_back_in(anon_api, owner):
    register_api(anon_api, email="Taken@example.com", username="intruder")

    [mail] = mails_to("taken@example.com")
    assert mail.template == "registration-attempt"
    assert "tried to create a new account with this e-mail address" in mail.body_text
    assert "http://testserver/accounts/login/" in mail.body_text
    assert "http://testserver/accounts/password/reset/" in mail.body_text
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    assert not User.objects.filter(username="intruder").exists()
    assert owner.check_password("intruder") is False  # nothing about the account changed
    [event] = events("accounts.registration_with_taken_email")
    assert event.target_id == str(owner.pk)


def test_a_free_address_with_a_taken_username_is_told_to_choose_another(anon_api, owner):
    register_api(anon_api, email="new@example.com", username="First")

    [mail] = mails_to("new@example.com")
    assert mail.template == "registration-username-taken"
    assert '"First"' in mail.body_text
    assert "http://testserver/accounts/register/" in mail.body_text
    assert not User.objects.filter(email="new@example.com").exists()
    assert mails_to("taken@example.com") == []


def test_repeated_attempts_never_flood_the_owner(anon_api, owner, settings):
    settings.EMAIL_RATE_LIMIT_COUNT = 2
    settings.RATE_REGISTER_PER_IP = "100/h"
    for n in range(6):
        response = register_api(anon_api, email="taken@example.com", username=f"intruder{n}")
        assert response.status_code == 202

    assert len(mails_to("taken@example.com")) == 2


def test_a_weak_password_is_refused_alike_for_taken_and_new_addresses(anon_api, owner):
    fresh = register_api(anon_api, email="fresh@example.com", password="short")
    repeat = register_api(anon_api, email="taken@example.com", password="short")

    assert fresh.status_code == repeat.status_code == 400
    assert fresh.json() == repeat.json()
    assert mails_to("taken@example.com") == []
