"""GET /api/acl/logs: every download with user, IP, location, version, format and time — for
admins and super admins only."""

import pytest

from apps.acl import services
from tests.commerce.helpers import refused
from tests.conftest import token_client

URL = "/api/acl/logs"


@pytest.fixture
def logged(renter, relays):
    services.take(user=renter, access="tailscale", ip="203.0.113.9")
    services.take(user=renter, access="page", ip="2001:db8::7")


@pytest.mark.parametrize("who", ["admin", "superadmin"])
def test_staff_see_the_download_log(logged, renter, personas, who):
    body = token_client(personas[who]).get(URL).json()
    assert body["success"] and body["count"] == 2
    newest = body["results"][0]
    assert set(newest) == {"id", "user", "user_email", "version", "format", "ip", "location", "created_at"}
    assert (newest["user"], newest["format"], newest["ip"], newest["version"]) == (
        renter.pk, "page", "2001:db8::7", 1)


def test_staff_filter_by_user_and_format(logged, renter, stranger, admin_user):
    client = token_client(admin_user)
    assert client.get(URL, {"user_id": stranger.pk}).json()["count"] == 0
    found = client.get(URL, {"user_id": renter.pk, "format": "tailscale"}).json()["results"]
    assert [r["format"] for r in found] == ["tailscale"]
    refused(client.get(URL, {"user_id": "x"}), 400)
    refused(client.get(URL, {"format": "pdf"}), 400)


@pytest.mark.parametrize("who", ["user", "stranger", "distributor"])
def test_nobody_else_sees_it(logged, personas, who):
    refused(token_client(personas[who]).get(URL), 404)
