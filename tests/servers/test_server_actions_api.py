"""Re-pin, status, delete, reconcile and drain over the API, each through its service."""

import pytest

from apps.audit.models import AuditEvent
from apps.containers.models import DerpInstance, InstanceStatus
from apps.servers import drivers
from apps.servers.models import Server, ServerStatus
from tests.conftest import token_client
from tests.servers.conftest import OTHER_FINGERPRINT, OTHER_HOST_KEY, refused

ROUTES = [("get", "{}"), ("delete", "{}"), ("post", "{}/repin"), ("post", "{}/status"),
          ("post", "{}/reconcile"), ("post", "{}/drain")]


@pytest.fixture
def api(superadmin):
    return token_client(superadmin)


def test_repin_accepts_the_key_the_server_presents_now(api, remote, make_server):
    server = make_server()
    remote.host_key = OTHER_HOST_KEY

    response = api.post(f"/api/server/{server.pk}/repin", {}, format="json")

    assert response.status_code == 200
    assert response.json()["host_key_fingerprint"] == OTHER_FINGERPRINT
    server.refresh_from_db()
    assert server.ssh_host_key == OTHER_HOST_KEY
    assert AuditEvent.objects.get(action="servers.host_key_repinned").details["to"] == OTHER_FINGERPRINT


def test_repin_refuses_a_key_other_than_the_expected_one(api, remote, make_server):
    server = make_server()
    remote.host_key = OTHER_HOST_KEY
    expected = "SHA256:" + "A" * 43

    response = api.post(f"/api/server/{server.pk}/repin", {"expected_fingerprint": expected},
                        format="json")

    refused(response, 409, "host_key_mismatch")
    server.refresh_from_db()
    assert server.ssh_host_key != OTHER_HOST_KEY


def test_repin_of_an_unreachable_server_is_a_502(api, remote, make_server):
    server = make_server()
    remote.fetch_error = drivers.RemoteError("cannot reach", transient=True, code="unreachable")

    refused(api.post(f"/api/server/{server.pk}/repin", {}, format="json"), 502)


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
        api, remote, fake_engine, make_server):
    server = make_server()
    fake_engine.containers[(server.pk, "derp-u1-i1")] = {"id": "c1", "running": True,
                                                         "instance_id": 1}

    response = api.delete(f"/api/server/{server.pk}")

    assert response.status_code == 200
    assert response.json() == {"success": True, "deleted": server.pk}
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
    assert Server.objects.filter(pk=server.pk).exists()
    assert fake_engine.calls == [] and remote.calls == []


def test_reconcile_reports_what_it_changed(api, remote, fake_engine, make_server, customer,
                                           place_relay):
    server = make_server()
    relay = place_relay(customer, server)  # in the database, no container on the server
    fake_engine.containers[(server.pk, "derp-orphan")] = {"id": "c9", "running": True,
                                                          "instance_id": None}

    response = api.post(f"/api/server/{server.pk}/reconcile")

    assert response.status_code == 200, response.content
    report = response.json()["report"]
    assert report["changed"] is True
    assert report["recreated"] == [relay.container_name]
    assert report["removed_orphans"] == ["derp-orphan"]


def test_reconcile_of_an_unreachable_server_is_a_502_with_the_report(api, fake_engine,
                                                                     make_server):
    server = make_server()
    fake_engine.down.add(server.pk)

    error = refused(api.post(f"/api/server/{server.pk}/reconcile"), 502, "server_unreachable")

    assert error["report"]["server"] == server.pk and error["report"]["changed"] is False


def test_drain_moves_the_relays_and_reports_them(api, remote, fake_engine, make_server,
                                                 customer, place_relay):
    source, target = make_server("source"), make_server("target")
    relay = place_relay(customer, source, engine=fake_engine)

    response = api.post(f"/api/server/{source.pk}/drain")

    assert response.status_code == 200, response.content
    body = response.json()
    moved = DerpInstance.objects.get(pk=body["report"]["moved"][0])
    assert moved.server == target and moved.status == InstanceStatus.RUNNING
    assert body["report"]["failed"] == {}
    assert body["server"]["status"] == "draining"
    relay.refresh_from_db()
    assert relay.status == InstanceStatus.REMOVED


def test_drain_without_anywhere_to_go_reports_the_failure(api, remote, fake_engine, make_server,
                                                          customer, place_relay):
    source = make_server("alone")
    relay = place_relay(customer, source, engine=fake_engine)

    body = api.post(f"/api/server/{source.pk}/drain").json()

    assert body["report"]["moved"] == []
    assert str(relay.pk) in body["report"]["failed"]
    relay.refresh_from_db()
    assert relay.status == InstanceStatus.RUNNING  # left where it was


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_an_unknown_server_id_is_a_404(api, remote, method, route):
    response = getattr(api, method)(f"/api/server/{route.format(999999)}", {}, format="json")

    refused(response, 404, "not_found")
    assert remote.calls == []
