"""GET /api/server/list and /api/server/<id> carry the server's traffic (seed 3.1): used this
month, the quota, what remains, the total, the current rate, when the quota month began and the
day it starts again."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from apps.servers.models import Server
from apps.traffic.series import next_reset
from tests.conftest import token_client
from tests.traffic.conftest import GB

FIELDS = {"traffic_month_bytes": 300 * GB, "monthly_quota_bytes": 1000 * GB,
          "monthly_remaining_bytes": 700 * GB, "traffic_total_bytes": 900 * GB,
          "rate_bps": 12_500_000}


def test_the_list_carries_each_servers_traffic(admin_user, sampled_server, make_server):
    make_server("no-quota")
    servers = {s["name"]: s for s in
               token_client(admin_user).get("/api/server/list").json()["servers"]}

    listed = servers["sh-traffic"]
    assert {key: listed[key] for key in FIELDS} == FIELDS
    assert listed["traffic_period_start"] and listed["last_sample_at"]
    assert listed["next_reset"] == next_reset(sampled_server).isoformat()
    assert servers["no-quota"]["monthly_remaining_bytes"] is None
    assert servers["no-quota"]["next_reset"] is None


def test_one_server_carries_the_same(admin_user, sampled_server):
    shown = token_client(admin_user).get(f"/api/server/{sampled_server.pk}").json()["server"]

    assert {key: shown[key] for key in FIELDS} == FIELDS


@pytest.mark.parametrize("persona", ["distributor", "user", "stranger"])
def test_nobody_else_sees_server_traffic(personas, persona, sampled_server):
    response = token_client(personas[persona]).get("/api/server/list")

    assert response.status_code == 404
    assert str(300 * GB).encode() not in response.content


SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("now", "reset_day", "expected"), [
    (datetime(2026, 5, 3, 12, tzinfo=SHANGHAI), 5, date(2026, 5, 5)),
    (datetime(2026, 5, 5, 0, 1, tzinfo=SHANGHAI), 5, date(2026, 6, 5)),
    (datetime(2026, 12, 20, tzinfo=SHANGHAI), 1, date(2027, 1, 1)),
    (datetime(2026, 12, 31, 23, 30, tzinfo=SHANGHAI), 28, date(2027, 1, 28)),
])
def test_the_next_reset_is_the_next_reset_day_in_panel_time(settings, now, reset_day, expected):
    settings.TIME_ZONE = "Asia/Shanghai"
    server = Server(monthly_quota_bytes=GB, quota_reset_day=reset_day)

    assert next_reset(server, now) == expected
