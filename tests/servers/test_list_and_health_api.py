"""GET /api/server/list keeps its shape; GET /api/server/health_check answers 202 with the
check's operation, whose result lists each server's SSH time and engine version."""

from apps.containers.models import InstanceStatus
from apps.operations.models import Operation
from apps.servers import drivers
from apps.servers.models import Server
from tests.conftest import token_client
from tests.operations.support import accepted, followed
from tests.servers.conftest import CLIENT_KEY, HOST_KEY_FINGERPRINT, refused

LIST_FIELDS = {"id", "name", "aliyun_account", "location", "public_ip", "domain", "region",
               "status", "containers", "traffic_total_bytes", "traffic_month_bytes",
               "monthly_remaining_bytes", "port_range_start", "port_range_end", "max_containers"}


def test_the_list_shows_every_server_with_its_relays_and_traffic(
        admin_user, customer, stranger, make_server, place_relay):
    busy = make_server("busy", aliyun_account="13800138000", location="Hangzhou",
                       monthly_quota_bytes=10 * 1024**3, traffic_month_bytes=3 * 1024**3,
                       traffic_total_bytes=7 * 1024**3)
    make_server("idle")
    place_relay(customer, busy, port=30000)
    place_relay(stranger, busy, port=30001, status=InstanceStatus.STOPPED)
    place_relay(admin_user, busy, port=30002, status=InstanceStatus.REMOVED)

    response = token_client(admin_user).get("/api/server/list")

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["count"] == 2
    by_name = {server["name"]: server for server in body["servers"]}
    assert set(by_name["busy"]) >= LIST_FIELDS
    assert by_name["busy"]["containers"] == 2  # running and stopped hold their ports; removed not
    assert by_name["busy"]["aliyun_account"] == "13800138000"
    assert by_name["busy"]["location"] == "Hangzhou"
    assert by_name["busy"]["traffic_total_bytes"] == 7 * 1024**3
    assert by_name["busy"]["monthly_remaining_bytes"] == 7 * 1024**3
    assert by_name["busy"]["host_key_fingerprint"] == HOST_KEY_FINGERPRINT
    assert by_name["idle"]["containers"] == 0
    assert by_name["idle"]["monthly_remaining_bytes"] is None  # no quota


def test_the_list_never_carries_a_credential(admin_user, make_server):
    make_server("one")

    content = token_client(admin_user).get("/api/server/list").content.decode()

    assert CLIENT_KEY.splitlines()[1] not in content
    assert "ssh_secret" not in content and "encrypted" not in content


def checked(client, query: str, run_operations) -> list[dict]:
    """Ask for a check, let the worker run it, return each server's result."""
    operation = accepted(client.get(f"/api/server/health_check{query}"), kind="probe")
    run_operations()
    done = followed(client, operation)
    assert done["state"] == "done"
    return done["result"]["servers"]


def test_the_health_check_times_ssh_and_asks_the_engine(admin_user, remote, fake_engine,
                                                        make_server, run_operations):
    first, second = make_server("first"), make_server("second")

    results = checked(token_client(admin_user), "", run_operations)

    assert sorted(r["id"] for r in results) == sorted([first.pk, second.pk])
    for result in results:
        assert result["ok"] is True
        assert isinstance(result["ssh_ms"], float) and result["ssh_ms"] >= 0
        assert result["engine_version"] == "fake-1.0"
        assert result["error"] is None
    probed = {call[1] for call in remote.calls if call[0] == "run" and call[2][:2] == ("sh", "-c")}
    assert probed == {first.pk, second.pk}  # the health probe's one SSH round trip each


def test_the_health_check_of_one_server_reports_its_failure_and_marks_nothing(
        admin_user, remote, fake_engine, make_server, run_operations):
    server = make_server("down")
    make_server("other")
    remote.run_error = drivers.RemoteError("root@127.0.1.10:2222 unreachable: refused",
                                           transient=True, code="unreachable")

    (result,) = checked(token_client(admin_user), f"?server_id={server.pk}", run_operations)

    assert result["id"] == server.pk
    assert result["ok"] is False
    assert result["error"] == "root@127.0.1.10:2222 unreachable: refused"
    assert result["error_code"] == "unreachable"
    assert result["ssh_ms"] is None and result["engine_version"] is None
    server.refresh_from_db()
    assert (server.status, server.last_error) == ("healthy", "")


def test_a_broken_engine_is_reported_with_the_ssh_time(admin_user, remote, fake_engine,
                                                       make_server, run_operations):
    server = make_server("no-engine")
    fake_engine.down.add(server.pk)

    (result,) = checked(token_client(admin_user), f"?server_id={server.pk}", run_operations)

    assert result["ok"] is False and result["ssh_ms"] is not None
    assert "unreachable" in result["error"]


def test_asking_again_while_a_check_is_queued_answers_with_the_same_one(admin_user, remote,
                                                                       make_server):
    server = make_server("one")
    client = token_client(admin_user)

    first = accepted(client.get(f"/api/server/health_check?server_id={server.pk}"))
    again = accepted(client.get(f"/api/server/health_check?server_id={server.pk}"))

    assert again["id"] == first["id"] and Operation.objects.count() == 1


def test_with_no_servers_there_is_nothing_to_check(admin_user, remote):
    response = token_client(admin_user).get("/api/server/health_check")

    assert response.status_code == 200
    assert response.json() == {"success": True, "status": "no_servers", "count": 0, "servers": []}
    assert not Operation.objects.exists()


def test_the_health_check_refuses_a_bad_or_unknown_server_id(admin_user, remote, make_server):
    make_server("one")
    client = token_client(admin_user)

    refused(client.get("/api/server/health_check?server_id=abc"), 400, "invalid")
    refused(client.get("/api/server/health_check?server_id=999999"), 404, "not_found")
    assert remote.calls == [] and not Operation.objects.exists()
    assert Server.objects.count() == 1
