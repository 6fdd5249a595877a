"""GET /api/container/<id>/traffic and /api/user/<id>/traffic: a relay's or a customer's bytes
per period over a time range with their totals. Staff see every relay and every customer they may
see; a customer sees only their own; anyone else is told nothing is there (404) and learns no
figure; bad ranges are a 400 in the envelope, never a 500."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import token_client
from tests.traffic.conftest import GB, customer_days, relay_hours

PERSONAS = ["superadmin", "admin", "distributor", "user", "stranger"]


@pytest.fixture
def relay(personas, make_server, place_relay):
    relay = place_relay(personas["user"], make_server("secret-host"))
    relay_hours(relay, {1: (100, 200), 2: (1000, 2000), 30: (5, 5)})
    return relay


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_relays_traffic_is_for_staff_and_its_customer_only(personas, relay, persona):
    response = token_client(personas[persona]).get(f"/api/container/{relay.pk}/traffic")

    if persona in ("superadmin", "admin", "user"):
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True
        assert [p["rx_bytes"] for p in body["points"]] == [1000, 100]
        assert body["totals"]["rx_bytes"] == 1100 and body["totals"]["tx_bytes"] == 2200
    else:
        assert response.status_code == 404
        assert b"1000" not in response.content and b"secret-host" not in response.content


def test_anonymous_callers_must_authenticate(anon_api, relay, customer):
    assert anon_api.get(f"/api/container/{relay.pk}/traffic").status_code == 401
    assert anon_api.get(f"/api/user/{customer.pk}/traffic").status_code == 401
    assert anon_api.get("/api/user/me/traffic").status_code == 401


def test_a_wider_range_includes_older_periods(admin_user, relay):
    since = (timezone.now() - timedelta(hours=40)).isoformat()
    body = token_client(admin_user).get(f"/api/container/{relay.pk}/traffic",
                                        {"from": since}).json()

    assert body["totals"]["total_bytes"] == 10 + 300 + 3000
    assert [p["rx_bytes"] for p in body["points"]] == [5, 1000, 100]


def test_an_unknown_relay_is_404(admin_user):
    assert token_client(admin_user).get("/api/container/999999/traffic").status_code == 404
    assert token_client(admin_user).get("/api/container/99999999999/traffic").status_code == 404


BAD_RANGES = [
    {"from": "yesterday"},
    {"to": "2026-13-45T00:00:00"},
    {"from": "2026-05-02T00:00:00Z", "to": "2026-05-01T00:00:00Z"},
    {"from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
    {"from": "2026-05-01T00:00:00Z", "to": "2026-05-05T00:00:00Z", "resolution": "minute"},
    {"resolution": "week"},
]


@pytest.mark.parametrize("query", BAD_RANGES)
def test_bad_ranges_are_a_400_naming_the_field(admin_user, relay, customer, query):
    for url in (f"/api/container/{relay.pk}/traffic", f"/api/user/{customer.pk}/traffic"):
        response = token_client(admin_user).get(url, query)

        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "invalid" and error["fields"]


def test_minutes_over_a_user_are_refused(customer):
    response = token_client(customer).get("/api/user/me/traffic", {"resolution": "minute"})

    assert response.status_code == 400
    assert "resolution" in response.json()["error"]["fields"]


@pytest.fixture
def month(customer, stranger):
    today = timezone.localdate()
    customer_days(customer, {ago: GB for ago in range(today.day)})  # every day of this month
    customer_days(customer, {today.day + 3: 7 * GB})  # last month
    customer_days(stranger, {0: 50 * GB})
    return today.day


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_customers_traffic_is_for_themself_and_staff(personas, month, persona):
    customer = personas["user"]
    response = token_client(personas[persona]).get(f"/api/user/{customer.pk}/traffic",
                                                   {"resolution": "day"})

    if persona in ("superadmin", "admin", "user"):
        body = response.json()
        assert response.status_code == 200
        assert body["user_id"] == customer.pk
        assert body["month_bytes"] == month * GB
        assert body["points"][-1]["rx_bytes"] + body["points"][-1]["tx_bytes"] == GB
    else:
        assert response.status_code == 404
        assert str(month * GB).encode() not in response.content


def test_me_is_the_caller(customer, stranger, month):
    body = token_client(stranger).get("/api/user/me/traffic", {"resolution": "day"}).json()

    assert body["user_id"] == stranger.pk
    assert body["month_bytes"] == 50 * GB


def test_daily_points_sum_to_the_range(customer, month):
    since = (timezone.now() - timedelta(days=60)).isoformat()
    body = token_client(customer).get("/api/user/me/traffic",
                                      {"from": since, "resolution": "day"}).json()

    assert body["totals"]["total_bytes"] == (month + 7) * GB
    assert len(body["points"]) == month + 1


def test_hourly_points_sum_over_the_customers_relays(customer, make_server, place_relay):
    first, second = (place_relay(customer, make_server()) for _ in range(2))
    relay_hours(first, {1: (10, 20), 2: (30, 40)})
    relay_hours(second, {1: (1, 2)})
    body = token_client(customer).get("/api/user/me/traffic").json()

    assert [(p["rx_bytes"], p["tx_bytes"]) for p in body["points"]] == [(30, 40), (11, 22)]
    assert body["month_bytes"] == 0  # the daily totals are the sampling round's to write


def test_an_admin_cannot_see_a_super_admins_traffic(admin_user, superadmin):
    response = token_client(admin_user).get(f"/api/user/{superadmin.pk}/traffic")

    assert response.status_code == 404
