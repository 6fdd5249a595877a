"""GET /api/monitoring/load_analysis and /ops/load/: each server's load, memory, disk, relays,
traffic, latency, health and open alerts; which servers are over- and under-used, the relay moves
that would even them out, and fleet totals — in a number of queries that does not grow with the
fleet."""

import pytest
from django.utils import timezone

from apps.monitoring import services as alerts
from apps.monitoring.models import AlertType, RelayHealth, ServerHealth, Severity
from apps.servers.models import ServerStatus
from tests.conftest import signed_in_client, token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _server(make_server, place_relay, name, *, relays=0, max_containers=10, load1=0.2, cpus=2,
            mem=40, disk=50, status=ServerStatus.HEALTHY, tls_ms=None, **fields):
    server = make_server(name, max_containers=max_containers, status=status, **fields)
    ServerHealth.objects.create(server=server, failures=0, successes=5,
                                last_probe_at=timezone.now(),
                                latest={"load1": load1, "cpus": cpus, "mem_percent": mem,
                                        "disk_percent": disk, "ping_ms": {"1.1.1.1": 20,
                                                                          "8.8.8.8": 30}})
    for number in range(relays):  # one relay per customer and server
        relay = place_relay(UserFactory(), server, port=server.port_range_start + number)
        if tls_ms is not None:
            RelayHealth.objects.create(instance=relay, latest={"tls_ms": tls_ms + number,
                                                               "http_ms": 2 * tls_ms})
    return server


@pytest.fixture
def fleet(make_server, place_relay):
    """full: 9 of 10 slots; busy: load 3 on 2 CPUs; disk: 95 % disk; idle: 1 of 10;
    empty: 0 of 10; down: unhealthy, empty (never a destination)."""
    make = lambda name, **kw: _server(make_server, place_relay, name, **kw)  # noqa: E731
    return {
        "full": make("full", relays=9, tls_ms=10, traffic_month_bytes=5 * 2**30,
                     monthly_quota_bytes=10 * 2**30),
        "busy": make("busy", relays=5, load1=3.0),
        "disk": make("disk", relays=4, disk=95),
        "idle": make("idle", relays=1),
        "empty": make("empty", relays=0),
        "down": make("down", relays=0, status=ServerStatus.UNHEALTHY),
    }


def _analysis(user) -> dict:
    response = token_client(user).get("/api/monitoring/load_analysis")
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_each_server_has_its_figures(admin_user, fleet):
    alerts.open_alert(type=AlertType.DISK_HIGH, target=fleet["disk"], severity=Severity.WARNING,
                      message="disk 95 %")
    rows = {row["name"]: row for row in _analysis(admin_user)["servers"]}

    full = rows["full"]
    assert (full["relays"], full["max_containers"], full["relay_percent"]) == (9, 10, 90.0)
    assert (full["load1"], full["cpus"], full["load_per_cpu"]) == (0.2, 2, 0.1)
    assert (full["mem_percent"], full["disk_percent"]) == (40, 50)
    assert full["traffic_month_bytes"] == 5 * 2**30
    assert full["monthly_remaining_bytes"] == 5 * 2**30
    assert full["latency"]["tls_ms"] == 14.0  # mean of 10…18
    assert full["latency"]["http_ms"] == 20.0
    assert full["latency"]["ping_ms"] == 25.0
    assert full["health"]["successes"] == 5 and full["health"]["failures"] == 0
    assert rows["busy"]["load_per_cpu"] == 1.5
    assert rows["disk"]["open_alerts"] == 1 and rows["full"]["open_alerts"] == 0


def test_over_and_under_used_servers_are_named(admin_user, fleet):
    analysis = _analysis(admin_user)
    names = {row["id"]: row["name"] for row in analysis["servers"]}
    usage = {row["name"]: row["usage"] for row in analysis["servers"]}

    assert sorted(names[i] for i in analysis["over_used"]) == ["busy", "disk", "full"]
    assert sorted(names[i] for i in analysis["under_used"]) == ["empty", "idle"]
    assert usage["down"] == "normal"  # unhealthy: failover's business, not a destination
    reasons = {row["name"]: row["reasons"] for row in analysis["servers"]}
    assert any("9 of 10" in reason for reason in reasons["full"])
    assert any("disk" in reason for reason in reasons["disk"])


def test_moves_go_from_over_used_to_the_emptiest_healthy_servers(admin_user, fleet):
    analysis = _analysis(admin_user)
    moves = [(m["from"]["name"], m["to"]["name"], m["relays"]) for m in analysis["suggestions"]]

    assert moves, analysis
    assert {source for source, _to, _n in moves} <= {"full", "busy", "disk"}
    assert {target for _from, target, _n in moves} <= {"idle", "empty"}
    assert "full" in {source for source, _to, _n in moves}
    # 19 relays on 50 healthy slots: 38 %; "full" keeps at most 3 + what did not fit.
    moved_from_full = sum(n for source, _to, n in moves if source == "full")
    assert moved_from_full >= 3
    assert all("Move" in m["message"] for m in analysis["suggestions"])


def test_fleet_totals(admin_user, fleet):
    totals = _analysis(admin_user)["totals"]

    assert totals == {"servers": 6, "healthy": 5, "relays": 19, "capacity": 60,
                      "traffic_month_bytes": 5 * 2**30, "open_alerts": 0}


def test_a_balanced_fleet_needs_no_moves(admin_user, make_server, place_relay):
    for name in ("a", "b", "c"):
        _server(make_server, place_relay, name, relays=5)

    analysis = _analysis(admin_user)
    assert analysis["suggestions"] == [] and analysis["over_used"] == []


def test_servers_never_probed_are_listed_without_figures(admin_user, make_server):
    make_server("new-one")

    row = _analysis(admin_user)["servers"][0]
    assert (row["load1"], row["mem_percent"], row["load_per_cpu"]) == (None, None, None)
    assert row["health"]["last_probe_at"] is None


def _fleet_of(size, make_server, place_relay):
    for number in range(size):
        _server(make_server, place_relay, f"n{number:02d}", relays=number % 4, tls_ms=10)


@pytest.mark.parametrize("size", [5, 20])
def test_the_query_count_does_not_grow_with_the_fleet(admin_user, make_server, place_relay,
                                                       django_assert_max_num_queries, size):
    _fleet_of(size, make_server, place_relay)
    client = token_client(admin_user)
    client.get("/api/monitoring/load_analysis")  # warm: settings row, permission caches

    with django_assert_max_num_queries(8):
        response = client.get("/api/monitoring/load_analysis")
    assert len(response.json()["servers"]) == size


def test_the_same_queries_answer_for_5_and_for_20_servers(admin_user, make_server, place_relay):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = token_client(admin_user)
    _fleet_of(5, make_server, place_relay)
    client.get("/api/monitoring/load_analysis")
    with CaptureQueriesContext(connection) as five:
        client.get("/api/monitoring/load_analysis")
    for number in range(5, 20):
        _server(make_server, place_relay, f"m{number:02d}", relays=2, tls_ms=10)
    with CaptureQueriesContext(connection) as twenty:
        assert len(client.get("/api/monitoring/load_analysis").json()["servers"]) == 20

    assert len(twenty) == len(five)


def test_the_load_page_shows_the_table_and_suggestions(admin_user, fleet):
    page = signed_in_client(admin_user).get("/ops/load/").content.decode()

    assert 'data-usage="over"' in page and 'data-usage="under"' in page
    assert "Move " in page and "full" in page
    assert f'data-server-id="{fleet["idle"].pk}"' in page
