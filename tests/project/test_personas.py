"""Every page and endpoint of the panel, for every persona: data for the right role, 404 for a
foreign role (never a hint of data), sign-in for anonymous visitors."""

import pytest

from apps.audit import services as audit
from tests.conftest import signed_in_client, token_client

PERSONAS = ["superadmin", "admin", "distributor", "user", "stranger"]
STAFF_ONLY = {"superadmin": 200, "admin": 200, "distributor": 404, "user": 404, "stranger": 404}
DISTRIBUTOR_ONLY = {"superadmin": 404, "admin": 404, "distributor": 200, "user": 404, "stranger": 404}
ANY_ACCOUNT = dict.fromkeys(PERSONAS, 200)

PAGES = {
    "/ops/": STAFF_ONLY,
    "/ops/audit/": STAFF_ONLY,
    "/portal/": DISTRIBUTOR_ONLY,
    "/accounts/me/": ANY_ACCOUNT,
    "/accounts/profile/": ANY_ACCOUNT,
    "/accounts/mfa/": ANY_ACCOUNT,
    "/admin/": STAFF_ONLY,
}

API = {  # (method, path): expected status per persona
    ("get", "/api/user/me"): ANY_ACCOUNT,
    ("get", "/api/logs/system"): STAFF_ONLY,
    ("post", "/api/notifications/send"): {**STAFF_ONLY, "superadmin": 202, "admin": 202},
    ("get", "/api/schema"): ANY_ACCOUNT,
}

HOME = {"superadmin": "/ops/", "admin": "/ops/", "distributor": "/portal/", "user": "/accounts/me/",
        "stranger": "/accounts/me/"}

MARKER = "audit.marker_only_staff_may_see"


@pytest.fixture
def staff_secret(db):
    """An audit event whose action must never reach a page or answer for a foreign role."""
    audit.record(actor=None, action=MARKER, ip="192.0.2.99")


def _body(customer) -> dict:
    return {"email": customer.email, "subject": "Hello", "message": "Your relay is ready."}


@pytest.mark.parametrize(("path", "persona"), [(p, r) for p in PAGES for r in PERSONAS])
def test_page_status_per_persona(personas, staff_secret, path, persona):
    response = signed_in_client(personas[persona]).get(path)
    assert response.status_code == PAGES[path][persona], response.get("Location")
    if response.status_code == 404:
        assert MARKER.encode() not in response.content


@pytest.mark.parametrize("persona", ["superadmin", "admin"])
def test_the_ops_dashboard_shows_staff_the_recent_activity(personas, staff_secret, persona):
    response = signed_in_client(personas[persona]).get("/ops/")
    assert MARKER.encode() in response.content


@pytest.mark.parametrize("path", [*PAGES])
def test_page_sends_anonymous_visitors_to_sign_in(anon_client, path):
    response = anon_client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert f"next={path}" in response["Location"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_home_sends_each_role_to_its_own_start_page(personas, persona):
    response = signed_in_client(personas[persona]).get("/")
    assert response.status_code == 302
    assert response["Location"] == HOME[persona]


def test_home_shows_anonymous_visitors_the_landing_page(anon_client, db):
    response = anon_client.get("/")
    assert response.status_code == 200
    assert b'href="/accounts/login/"' in response.content


@pytest.mark.parametrize(("endpoint", "persona"), [(e, r) for e in API for r in PERSONAS])
def test_api_status_per_persona(personas, customer, staff_secret, endpoint, persona):
    method, path = endpoint
    client = token_client(personas[persona])
    response = getattr(client, method)(path, _body(customer) if method == "post" else None,
                                       format="json" if method == "post" else None)
    expected = API[endpoint][persona]
    assert response.status_code == expected, response.content[:300]
    body = response.json()
    if expected == 404:
        assert body["success"] is False and body["error"]["code"] == "not_found"
        assert MARKER not in response.content.decode()


@pytest.mark.parametrize("endpoint", [*API])
def test_api_asks_anonymous_callers_to_authenticate(anon_api, customer, staff_secret, endpoint):
    method, path = endpoint
    response = getattr(anon_api, method)(path, _body(customer) if method == "post" else None,
                                         format="json" if method == "post" else None)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "not_authenticated"
    assert MARKER not in response.content.decode()


@pytest.mark.parametrize("endpoint", [*API])
def test_api_answers_a_staff_browser_session_like_a_token(admin_user, customer, endpoint):
    method, path = endpoint
    client = signed_in_client(admin_user)
    response = getattr(client, method)(path, _body(customer) if method == "post" else None,
                                       content_type="application/json")
    assert response.status_code == API[endpoint]["admin"]
