"""Re-pin, status, delete, reconcile and drain over the API: status changes at once; the others
answer 202 with their operation and a worker does the remote part (its outcome on GET
/api/operations/<id>). What needs no server (unknown ids, relays still on a server) is refused
at once."""

import pytest

from apps.audit.models import AuditEvent
from apps.containers.models import DerpInstance, InstanceStatus
from apps.operations.models import Operation
from apps.servers import drivers
from apps.servers.models import Server, ServerStatus
from tests.conftest import token_client
from tests.operations.support import accepted, followed, run_until_finished
from tests.servers.conftest import OTHER_FINGERPRINT, OTHER_HOST_KEY, refused

ROUTES = [("get", "{}"), ("delete", "{}"), ("post", "{}/repin"), ("post", "{}/status"),
          ("post", "{}/reconcile"), ("post", "{}/drain")]


@pytest.fixture
def api(superadmin):
    return token_client(superadmin)


def test_repin_accepts_the_key_the_server_presents_now(api, remote, make_server, run_operations):
    server = make_server()
    remote.host_key = OTHER_HOST_KEY

    operation = accepted(api.post(f"/api/server/{server.pk}/repin", {}, format="json"),
                         kind="repin")
    assert remote.calls == []
    run_operations()

    assert followed(api, operation)["result"] == {"host_key_fingerprint": OTHER_FINGERPRINT}
    server.refresh_from_db()
    assert server.ssh_host_key == OTHER_HOST_KEY
    assert AuditEvent.objects.get(action="servers.host_key_repinned").details["to"] == OTHER_FINGERPRINT


def test_repin_refuses_a_key_other_than_the_expected_one(api, remote, make_server, run_operations):
    server = make_server()
    remote.host_key = OTHER_HOST_KEY
    expected = "SHA256:" + "A" * 43

    operation = accepted(api.post(f"/api/server/{server.pk}/repin",
                                  {"expected_fingerprint": expected}, format="json"))
    run_operations()

    failed = followed(api, operation)
    assert (failed["state"], failed["error_code"]) == ("failed", "host_key_mismatch")
    assert OTHER_FINGERPRINT in failed["error"] and expected in failed["error"]
    server.refresh_from_db()
    assert server.ssh_host_key != OTHER_HOST_KEY


def test_repin_of_an_unreachable_server_fails_saying_so(api, remote, make_server,
                                                       run_operations):
    server = make_server()
    remote.fetch_error = drivers.RemoteError("cannot reach", transient=True, code="unreachable")

    operation = accepted(api.post(f"/api/server/{server.pk}/repin", {}, format="json"))
    run_operations()

    failed = followed(api, operation)
    assert (failed["state"], failed["error_code"]) == ("failed", "server_unreachable")
    assert "no SSH server answered at 127.0.1.10:2222" in failed["error"]


def test_a_second_request_while_one_runs_on_the_server_is_refused(api, remote, make_server):
    server = make_server()
    first = accepted(api.post(f"/api/server/{server.pk}/repin", {}, format="json"))

    error = refused(api.delete(f"/api/server/{server.pk}"), 409, "operation_in_progress")

    assert f"#{first['id']}" in error["message"]
    assert Operation.objects.count() == 1 and Server.objects.get(pk=server.pk).status == "healthy"


def test_status_changes_and_is_audited(api, make_server):
    server = make_server()

    response = api.post(f"/api/server/{server.pk}/status", {"status": "maintenance"}, format="json")

    assert response.status_code == 200
    assert response.json()["server"]["status"] == "maintenance"
    server.refresh_from_db()
    assert server.status == ServerStatus.MAINTENANCE
    assert AuditEvent.objects.filter(action="servers.status_changed").exists()


@pytest.mark.parametrize("status", ["bogus", "", None, 3])
def test_an_unknown_status_is_a_400_and_changes_nothing(api, make_server, status):
    server = make_server()

    error = refused(api.post(f"/api/server/{server.pk}/status", {"status": status},
                             format="json"), 400, "invalid")

    assert "status" in error["fields"]
    server.refresh_from_db()
    assert server.status == ServerStatus.HEALTHY


def test_deleting_an_empty_server_removes_its_files_and_leftover_containers(
        api, remote, fake_engine, make_server, run_operations):
    server = make_server()
    fake_engine.containers[(server.pk, "derp-u1-i1")] = {"id": "c1", "running": True,
                                                         "instance_id": 1}

    operation = accepted(api.delete(f"/api/server/{server.pk}"), kind="delete_server")
    assert Server.objects.get(pk=server.pk).status == ServerStatus.MAINTENANCE
    run_operations()

    assert followed(api, operation)["result"] == {"deleted": server.pk, "name": server.name}
    assert not Server.objects.filter(pk=server.pk).exists()
    assert fake_engine.on(server) == {}
    assert ("remove_path", server.pk, f"/etc/derpmgr/certs/{server.pk}") in remote.calls
    assert AuditEvent.objects.filter(action="servers.deleted").exists()


def test_deleting_a_server_with_relays_is_a_409(api, remote, fake_engine, make_server,
                                                customer, place_relay):
    server = make_server()
    place_relay(customer, server, engine=fake_engine)

    error = refused(api.delete(f"/api/server/{server.pk}"), 409, "server_not_empty")

    assert "drain" in error["message"]
    assert Server.objects.filter(pk=server.pk, status=ServerStatus.HEALTHY).exists()
    assert fake_engine.calls == [] and remote.calls == []
    assert not Operation.objects.exists()


def test_reconcile_reports_what_it_changed(api, remote, fake_engine, make_server, customer,
                                           place_relay, run_operations):
    server = make_server()
    relay = place_relay(customer, server)  # in the database, no container on the server
    fake_engine.containers[(server.pk, "derp-orphan")] = {"id": "c9", "running": True,
                                                          "instance_id": None}

    operation = accepted(api.post(f"/api/server/{server.pk}/reconcile"), kind="reconcile")
    run_operations()

    report = followed(api, operation)["result"]
    assert report["changed"] is True
    assert report["recreated"] == [relay.container_name]
    assert report["removed_orphans"] == ["derp-orphan"]


def test_reconcile_of_an_unreachable_server_retries_then_fails_saying_why(
        api, fake_engine, make_server, run_operations, time_machine):
    server = make_server()
    fake_engine.down.add(server.pk)

    operation = accepted(api.post(f"/api/server/{server.pk}/reconcile"))
    run_operations()
    retrying = followed(api, operation)
    assert (retrying["state"], retrying["attempts"]) == ("queued", 1)

    finished = run_until_finished(run_operations, time_machine, operation["id"])

    failed = followed(api, operation)
    assert (failed["state"], failed["error_code"]) == ("failed", "server_unreachable")
    assert "unreachable" in failed["error"]
    assert finished.attempts == finished.max_attempts


def test_drain_moves_the_relays_and_reports_them(api, remote, fake_engine, make_server,
                                                 customer, place_relay, run_operations):
    source, target = make_server("source"), make_server("target")
    relay = place_relay(customer, source, engine=fake_engine)

    response = api.post(f"/api/server/{source.pk}/drain")

    operation = accepted(response, kind="drain")
    assert response.json()["server"]["status"] == "draining"
    run_operations()
    report = followed(api, operation)["result"]
    moved = DerpInstance.objects.get(pk=report["moved"][0])
    assert moved.server == target and moved.status == InstanceStatus.RUNNING
    assert report["failed"] == {}
    relay.refresh_from_db()
    assert relay.status == InstanceStatus.REMOVED


def test_drain_without_anywhere_to_go_reports_the_failure(api, remote, fake_engine, make_server,
                                                          customer, place_relay, run_operations):
    source = make_server("alone")
    relay = place_relay(customer, source, engine=fake_engine)

    operation = accepted(api.post(f"/api/server/{source.pk}/drain"))
    run_operations()

    report = followed(api, operation)["result"]
    assert report["moved"] == []
    assert str(relay.pk) in report["failed"]
    relay.refresh_from_db()
    assert relay.status == InstanceStatus.RUNNING  # left where it was


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_an_unknown_server_id_is_a_404(api, remote, method, route):
    response = getattr(api, method)(f"/api/server/{route.format(999999)}", {}, format="json")

    refused(response, 404, "not_found")
    assert remote.calls == [] and not Operation.objects.exists()
