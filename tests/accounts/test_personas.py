"""Every accounts page and endpoint, for each persona: the visitor, the stranger, each role."""

import pytest

from apps.billing.models import Plan
from tests.conftest import signed_in_client, token_client

pytestmark = pytest.mark.django_db

MEMBER_PAGES = ["/accounts/profile/", "/accounts/me/", "/accounts/mfa/"]
POST_ONLY = ["/accounts/mfa/start/", "/accounts/mfa/confirm/", "/accounts/mfa/backup-codes/",
             "/accounts/mfa/disable/", "/accounts/logout/"]
PUBLIC_PAGES = ["/accounts/login/", "/accounts/register/", "/accounts/verify/resend/",
                "/accounts/password/reset/", "/accounts/password/reset/sent/"]
ALL_PERSONAS = ["superadmin", "admin", "distributor", "user", "stranger"]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_a_visitor_opens_the_public_pages(anon_client, path):
    assert anon_client.get(path).status_code == 200


@pytest.mark.parametrize("path", MEMBER_PAGES)
def test_a_visitor_is_sent_to_sign_in_from_member_pages(anon_client, path):
    response = anon_client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize("path", [p for p in POST_ONLY if p != "/accounts/logout/"])
def test_a_visitor_posting_to_mfa_actions_is_sent_to_sign_in(anon_client, path):
    response = anon_client.post(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_start_page_shows_a_visitor_the_plans_and_the_way_in(anon_client, db):
    Plan.objects.create(name="Month", duration_days=30, price_fen=1990, max_devices=5)
    Plan.objects.create(name="Retired", duration_days=60, price_fen=1, active=False)

    response = anon_client.get("/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Month" in page and "¥19.90" in page and "5 devices" in page
    assert "Retired" not in page  # only what is on sale
    assert 'href="/accounts/register/"' in page and 'href="/accounts/login/"' in page


@pytest.mark.parametrize("path", ["/api/user/me", "/api/user/logout"])
def test_a_visitor_gets_401_from_member_endpoints(anon_api, path, db):
    response = anon_api.get(path) if path.endswith("me") else anon_api.post(path)

    assert response.status_code == 401
    assert response.json()["success"] is False


@pytest.mark.parametrize(("persona", "landing"), [
    ("superadmin", "/ops/"), ("admin", "/ops/"), ("distributor", "/portal/"),
    ("user", "/accounts/me/"), ("stranger", "/accounts/me/")])
def test_each_role_lands_on_its_own_start_page(personas, persona, landing):
    response = signed_in_client(personas[persona]).get("/")

    assert response["Location"] == landing


@pytest.mark.parametrize("persona", ALL_PERSONAS)
@pytest.mark.parametrize("path", MEMBER_PAGES)
def test_every_member_page_opens_for_every_persona(personas, persona, path):
    assert signed_in_client(personas[persona]).get(path).status_code == 200


@pytest.mark.parametrize("persona", ALL_PERSONAS)
def test_the_profile_shows_the_own_account_and_nobody_elses(personas, persona):
    me = personas[persona]
    body = signed_in_client(me).get("/accounts/profile/").content.decode()

    assert me.email in body
    others = [p for name, p in personas.items() if name != persona]
    assert not any(other.email in body for other in others)


@pytest.mark.parametrize("persona", ALL_PERSONAS)
def test_the_api_tells_each_persona_about_themselves_only(personas, persona):
    me = personas[persona]

    body = token_client(me).get("/api/user/me").json()

    assert body["user"]["id"] == me.pk
    assert body["user"]["role"] == me.role
    assert "password" not in body["user"]


@pytest.mark.parametrize("path", POST_ONLY)
def test_state_changing_actions_refuse_a_get(personas, path):
    response = signed_in_client(personas["user"]).get(path)

    assert response.status_code == 405


def test_the_stranger_cannot_change_the_customers_profile(personas):
    customer, stranger = personas["user"], personas["stranger"]

    signed_in_client(stranger).post("/accounts/profile/", {"language": "zh-hans",
                                                           "email": customer.email})

    customer.refresh_from_db()
    stranger.refresh_from_db()
    assert customer.language == "en"
    assert stranger.language == "zh-hans"
    assert stranger.email != customer.email


def test_the_profile_saves_the_language_and_sets_its_cookie(customer):
    response = signed_in_client(customer).post("/accounts/profile/", {"language": "zh-hans"})

    assert response.status_code == 302
    assert response.cookies["django_language"].value == "zh-hans"
    customer.refresh_from_db()
    assert customer.language == "zh-hans"


def test_the_profile_refuses_an_unknown_language(customer):
    response = signed_in_client(customer).post("/accounts/profile/", {"language": "xx"})

    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.language == "en"


@pytest.mark.parametrize(("persona", "layout"), [
    ("admin", "layouts/ops.html"), ("distributor", "layouts/portal.html"),
    ("user", "layouts/user.html")])
def test_each_role_gets_its_own_menu(personas, persona, layout):
    response = signed_in_client(personas[persona]).get("/accounts/profile/")

    assert layout in [t.name for t in response.templates]
