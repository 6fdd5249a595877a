"""Password reset by e-mail: the outbox carries a PANEL_URL link; using it ends API sessions."""

import pytest

from apps.accounts.models import ApiToken
from tests.accounts.helpers import STRONG_PASSWORD, api_login, events, link_in, mails_to, path_of
from tests.conftest import signed_in_client, token_client
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def ask_reset(client, email: str):
    return client.post("/accounts/password/reset/", {"email": email})


def follow_reset_link(client, user) -> str:
    """Open the mailed link; Django moves the token into the session and redirects."""
    [mail] = mails_to(user.email, template="password-reset")
    response = client.get(path_of(link_in(mail)))
    assert response.status_code == 302
    return response["Location"]


def choose(client, form_url: str, password: str = STRONG_PASSWORD, again: str | None = None):
    return client.post(form_url, {"new_password1": password, "new_password2": again or password})


def test_the_reset_page_renders(anon_client, db):
    response = anon_client.get("/accounts/password/reset/")

    assert response.status_code == 200
    assert b'name="email"' in response.content


def test_asking_queues_a_mail_in_the_outbox_with_a_link_on_the_panel_url(customer, anon_client,
                                                                        settings):
    settings.PANEL_URL = "https://panel.example.net"

    response = ask_reset(anon_client, customer.email.upper())

    assert response["Location"] == "/accounts/password/reset/sent/"
    [mail] = mails_to(customer.email, template="password-reset")
    assert mail.to == customer.email
    assert link_in(mail).startswith("https://panel.example.net/accounts/password/reset/")


def test_the_link_ignores_the_host_the_request_came_to(customer, anon_client):
    anon_client.post("/accounts/password/reset/", {"email": customer.email},
                     headers={"host": "evil.example.com"})

    [mail] = mails_to(customer.email, template="password-reset")
    assert "evil.example.com" not in mail.body_text
    assert "evil.example.com" not in mail.body_html


def test_an_unknown_address_gets_the_same_answer_and_no_mail(anon_client, db):
    response = ask_reset(anon_client, "nobody@example.com")

    assert response["Location"] == "/accounts/password/reset/sent/"
    assert mails_to("nobody@example.com") == []


def test_a_deactivated_account_gets_no_mail(anon_client, db):
    gone = UserFactory(is_active=False)

    ask_reset(anon_client, gone.email)

    assert mails_to(gone.email) == []


def test_following_the_link_and_choosing_a_password_changes_it(customer, anon_client, anon_api):
    ask_reset(anon_client, customer.email)
    form_url = follow_reset_link(anon_client, customer)

    response = choose(anon_client, form_url)

    assert response["Location"] == "/accounts/login/"
    assert api_login(anon_api, customer.email, PASSWORD).status_code == 401
    assert api_login(anon_api, customer.email, STRONG_PASSWORD).status_code == 200


def test_a_reset_kills_the_old_api_tokens(customer, anon_client):
    old_session = token_client(customer)
    ask_reset(anon_client, customer.email)
    form_url = follow_reset_link(anon_client, customer)

    choose(anon_client, form_url)

    assert not ApiToken.objects.filter(user=customer).exists()
    assert old_session.get("/api/user/me").status_code == 401


def test_a_reset_is_audited_without_the_password(customer, anon_client):
    ask_reset(anon_client, customer.email)
    choose(anon_client, follow_reset_link(anon_client, customer))

    [event] = events("accounts.password_reset")
    assert event.target_id == str(customer.pk)
    assert STRONG_PASSWORD not in str(event.details)


def test_a_weak_new_password_is_refused(customer, anon_client):
    ask_reset(anon_client, customer.email)
    form_url = follow_reset_link(anon_client, customer)

    response = choose(anon_client, form_url, "12345")

    assert response.status_code == 400
    assert response.context["form"].errors["new_password2"]
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)
    assert not events("accounts.password_reset")


def test_the_link_works_only_once(customer, anon_client):
    ask_reset(anon_client, customer.email)
    [mail] = mails_to(customer.email, template="password-reset")
    choose(anon_client, follow_reset_link(anon_client, customer))

    response = anon_client.get(path_of(link_in(mail)), follow=True)

    assert "This link is no longer valid" in response.content.decode()


def test_a_forged_link_is_refused(customer, anon_client):
    response = anon_client.get("/accounts/password/reset/MQ/set-password/", follow=True)

    assert "This link is no longer valid" in response.content.decode()


def test_the_page_without_an_address_is_refused(anon_client, db):
    response = anon_client.post("/accounts/password/reset/", {})

    assert response.status_code == 400
    assert "email" in response.context["form"].errors


def test_a_reset_signs_out_the_browsers_signed_in_with_the_old_password(customer, anon_client):
    old_browser = signed_in_client(customer)
    ask_reset(anon_client, customer.email)

    choose(anon_client, follow_reset_link(anon_client, customer))

    assert old_browser.get("/accounts/me/")["Location"].startswith("/accounts/login/")
