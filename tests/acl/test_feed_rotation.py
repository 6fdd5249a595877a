"""A customer can replace their derpMap URL (one leaked, say): from the /acl/ page (a POST with
its CSRF token) or POST /api/acl/feed/rotate. The old URL stops working at once, the new one
serves the same derpMap, and the change is in the audit log without either secret."""

import pytest
from django.test import Client

from apps.acl import services
from apps.acl.models import DerpMapFeed
from apps.audit.models import AuditEvent
from tests.conftest import signed_in_client, token_client
from tests.project.csp import assert_csp_clean

PANEL = "http://testserver"


@pytest.fixture
def feed_path(renter, relays):
    services.issue_version(user=renter, reason="test")
    return services.feed_url(renter).removeprefix(PANEL)


def test_the_api_gives_a_new_url_and_the_old_one_stops_at_once(renter, feed_path, anon_client):
    assert anon_client.get(feed_path).status_code == 200

    response = token_client(renter).post("/api/acl/feed/rotate", format="json")

    assert response.status_code == 200
    new_url = response.json()["feed_url"]
    assert new_url.startswith(f"{PANEL}/acl/feed/") and new_url.removeprefix(PANEL) != feed_path
    assert anon_client.get(feed_path).status_code == 404
    fresh = anon_client.get(new_url.removeprefix(PANEL))
    assert fresh.status_code == 200 and fresh.json()["Regions"]


def test_the_rotation_is_audited_without_the_secrets(renter, feed_path):
    new_url = token_client(renter).post("/api/acl/feed/rotate").json()["feed_url"]

    [event] = AuditEvent.objects.filter(action="acl.feed_rotated")
    assert event.actor == renter and event.target_id == str(renter.pk)
    logged = f"{event.details} {event.target_label} {event.actor_label}"
    old_token = feed_path.removeprefix("/acl/feed/").removesuffix(".json")
    new_token = new_url.rsplit("/", 1)[1].removesuffix(".json")
    assert old_token not in logged and new_token not in logged


def test_the_page_button_rotates_with_a_post(renter, feed_path, anon_client):
    browser = signed_in_client(renter)
    overview = browser.get("/acl/")
    assert_csp_clean(overview)  # the copy and confirm buttons work without inline script
    assert 'action="/acl/feed-url/rotate/"' in overview.content.decode()

    response = browser.post("/acl/feed-url/rotate/")

    assert response.status_code == 302 and response["Location"] == "/acl/"
    assert anon_client.get(feed_path).status_code == 404
    shown = browser.get("/acl/")
    assert shown.context["feed_url"].removeprefix(PANEL) != feed_path
    assert "no longer works" in shown.content.decode()


def test_the_page_refuses_a_get_and_a_post_without_the_csrf_token(renter, feed_path):
    token = DerpMapFeed.objects.get(user=renter).token
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(renter)

    assert browser.get("/acl/feed-url/rotate/").status_code == 405
    assert browser.post("/acl/feed-url/rotate/").status_code == 403
    assert DerpMapFeed.objects.get(user=renter).token == token


def test_only_customers_rotate_and_only_their_own(renter, feed_path, admin_user, distributor,
                                                  stranger):
    token = DerpMapFeed.objects.get(user=renter).token
    for other in (admin_user, distributor):
        assert token_client(other).post("/api/acl/feed/rotate").status_code in (403, 404)
    token_client(stranger).post("/api/acl/feed/rotate")

    assert DerpMapFeed.objects.get(user=renter).token == token
    assert Client().post("/api/acl/feed/rotate").status_code in (401, 403)
