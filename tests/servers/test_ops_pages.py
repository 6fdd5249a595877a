"""The operators' server pages: the list, adding a server, one server with its relays and recent
operations, and the confirmed actions: each queues an operation and leads to its page, which
shows the outcome once the worker has run it. Checks that need no server refuse at once."""

import pytest

from apps.audit.models import AuditEvent
from apps.containers.models import InstanceStatus
from apps.operations.models import Operation
from apps.servers import drivers
from apps.servers.models import Server
from tests.conftest import signed_in_client
from tests.servers.conftest import CLIENT_KEY, HOST_KEY_FINGERPRINT, OTHER_HOST_KEY

SECRET_LINE = CLIENT_KEY.splitlines()[1]


@pytest.fixture
def ops(fleet_admin):
    """An admin allowed to add and delete servers too."""
    return signed_in_client(fleet_admin)


def queued(response, kind: str) -> Operation:
    """Assert the page sent the operator to the operation it queued; return the operation."""
    operation = Operation.objects.get(kind=kind)
    assert response.status_code == 302, response.content[:300]
    assert response["Location"] == f"/ops/operations/{operation.pk}/"
    return operation


def outcome(ops, operation) -> str:
    """The operation's page, after the worker ran."""
    response = ops.get(f"/ops/operations/{operation.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_list_shows_each_server_with_its_relays_and_traffic(ops, make_server, customer,
                                                                place_relay):
    server = make_server("bj-1", aliyun_account="13700137000", location="Beijing",
                         traffic_total_bytes=3 * 1024**3)
    place_relay(customer, server)

    response = ops.get("/ops/servers/")

    page = response.content.decode()
    for shown in ("bj-1", "13700137000", "Beijing", server.public_ip, "1 / 100", "3.0\xa0GB",
                  "No quota", f"/ops/servers/{server.pk}/"):
        assert shown in page, shown


def test_the_ops_menu_links_the_servers(ops):
    assert 'href="/ops/servers/"' in ops.get("/ops/").content.decode()


def test_adding_queues_the_set_up_and_its_page_shows_the_pinned_fingerprint(
        ops, remote, new_server_data, run_operations):
    response = ops.post("/ops/servers/add/", new_server_data)

    operation = queued(response, "add_server")
    server = Server.objects.get()
    assert (operation.server_id, server.status) == (server.pk, "setting_up")
    page = ops.get(response["Location"]).content.decode()
    assert "sh-1 is being set up" in page and 'hx-trigger="every 2s"' in page

    run_operations()

    page = outcome(ops, operation)
    assert 'data-state="done"' in page and HOST_KEY_FINGERPRINT in page
    assert SECRET_LINE not in page
    assert HOST_KEY_FINGERPRINT in ops.get(f"/ops/servers/{server.pk}/").content.decode()


def test_a_refused_add_keeps_every_field_typed_including_the_key(ops, remote, fake_engine,
                                                                  new_server_data):
    response = ops.post("/ops/servers/add/", {**new_server_data, "ssh_port": 30010})

    assert response.status_code == 400
    page = response.content.decode()
    assert "The relay ports overlap the SSH port." in page
    assert 'value="sh-1"' in page
    assert SECRET_LINE in page  # back in its box: nothing to paste again
    assert "no-store" in response["Cache-Control"]
    assert Server.objects.count() == 0 and remote.calls == [] and fake_engine.calls == []
    assert not Operation.objects.exists()


def test_a_taken_name_is_refused_on_the_add_page_at_once(ops, remote, make_server,
                                                         new_server_data):
    make_server("sh-1")

    response = ops.post("/ops/servers/add/", new_server_data)

    assert response.status_code == 409
    assert Server.objects.count() == 1 and not Operation.objects.exists()
    assert remote.calls == []


def test_an_unreachable_server_is_explained_on_its_operation_page(ops, remote, new_server_data,
                                                                  run_operations):
    remote.fetch_error = drivers.RemoteError("cannot reach 127.0.0.2:2222: timed out",
                                             transient=True, code="unreachable")
    operation = queued(ops.post("/ops/servers/add/", new_server_data), "add_server")

    run_operations()

    page = outcome(ops, operation)
    assert 'data-state="failed"' in page
    assert "no SSH server answered at 127.0.0.2:2222" in page
    assert "cannot reach" not in page  # the driver's own words stay out
    assert 'hx-trigger' not in page  # finished: the page stops polling
    assert Server.objects.count() == 0


def test_the_detail_page_lists_the_live_relays(ops, make_server, customer, stranger, place_relay):
    server = make_server(last_error="ssh timed out")
    relay = place_relay(customer, server, port=30005)
    place_relay(stranger, server, port=30006, status=InstanceStatus.REMOVED)
    relay.last_error = "engine hiccup"
    relay.save()

    page = ops.get(f"/ops/servers/{server.pk}/").content.decode()

    assert customer.email in page and "30005" in page and "engine hiccup" in page
    assert stranger.email not in page and "30006" not in page
    assert HOST_KEY_FINGERPRINT in page and "ssh timed out" in page
    assert SECRET_LINE not in page


@pytest.mark.parametrize("action", ["reconcile", "drain", "repin", "delete"])
def test_each_action_asks_first_and_changes_nothing_on_a_get(ops, remote, fake_engine,
                                                             make_server, action):
    server = make_server()

    response = ops.get(f"/ops/servers/{server.pk}/{action}/")

    assert response.status_code == 200
    assert 'method="post"' in response.content.decode()
    assert remote.calls == [] and fake_engine.calls == []
    assert Server.objects.filter(pk=server.pk, status="healthy").exists()


def test_reconcile_reports_what_changed(ops, remote, fake_engine, make_server, customer,
                                        place_relay, run_operations):
    server = make_server()
    relay = place_relay(customer, server)

    operation = queued(ops.post(f"/ops/servers/{server.pk}/reconcile/"), "reconcile")
    assert fake_engine.calls == []
    run_operations()

    operation.refresh_from_db()
    assert operation.result["recreated"] == [relay.container_name]
    assert relay.container_name in outcome(ops, operation)


def test_drain_moves_the_relays(ops, remote, fake_engine, make_server, customer, place_relay,
                                run_operations):
    source, target = make_server("source"), make_server("target")
    relay = place_relay(customer, source, engine=fake_engine)

    operation = queued(ops.post(f"/ops/servers/{source.pk}/drain/"), "drain")
    assert Server.objects.get(pk=source.pk).status == "draining"  # no new relays from now on
    run_operations()

    replacement = target.instances.get(user=customer, status=InstanceStatus.RUNNING)
    operation.refresh_from_db()
    assert operation.result == {"moved": [replacement.pk], "failed": {}}
    assert Server.objects.get(pk=source.pk).instances.get(pk=relay.pk).status == "removed"


def test_repin_pins_the_new_key(ops, remote, make_server, run_operations):
    server = make_server()
    remote.host_key = OTHER_HOST_KEY

    queued(ops.post(f"/ops/servers/{server.pk}/repin/", {"expected_fingerprint": ""}), "repin")
    run_operations()

    server.refresh_from_db()
    assert server.ssh_host_key == OTHER_HOST_KEY


def test_repin_of_an_unexpected_key_fails_and_says_so(ops, remote, make_server, run_operations):
    server = make_server()
    remote.host_key = OTHER_HOST_KEY

    operation = queued(ops.post(f"/ops/servers/{server.pk}/repin/",
                                {"expected_fingerprint": "SHA256:" + "C" * 43}), "repin")
    run_operations()

    page = outcome(ops, operation)
    assert 'data-state="failed"' in page and "SHA256:" + "C" * 43 in page
    server.refresh_from_db()
    assert server.ssh_host_key != OTHER_HOST_KEY


def test_repin_with_a_malformed_fingerprint_is_refused_at_once(ops, remote, make_server):
    server = make_server()

    response = ops.post(f"/ops/servers/{server.pk}/repin/", {"expected_fingerprint": "nope"})

    assert response.status_code == 400
    assert not Operation.objects.exists() and remote.calls == []


def test_delete_removes_an_empty_server(ops, remote, fake_engine, make_server, run_operations):
    server = make_server()

    operation = queued(ops.post(f"/ops/servers/{server.pk}/delete/"), "delete_server")
    assert Server.objects.filter(pk=server.pk, status="maintenance").exists()
    run_operations()

    assert not Server.objects.filter(pk=server.pk).exists()
    page = outcome(ops, operation)  # the operation outlives the server it deleted
    assert 'data-state="done"' in page and server.name in page


def test_delete_refuses_a_server_with_relays(ops, remote, fake_engine, make_server, customer,
                                             place_relay):
    server = make_server()
    place_relay(customer, server, engine=fake_engine)

    response = ops.post(f"/ops/servers/{server.pk}/delete/")

    assert response.status_code == 409
    assert "drain it first" in response.content.decode()
    assert Server.objects.filter(pk=server.pk, status="healthy").exists()
    assert not Operation.objects.exists()
    assert not AuditEvent.objects.filter(action="servers.deleted").exists()


def test_check_now_reports_the_ssh_time_and_engine(ops, remote, fake_engine, make_server,
                                                   run_operations):
    server = make_server()

    response = ops.post(f"/ops/servers/{server.pk}/check/", follow=True)

    operation = Operation.objects.get(kind="probe")
    assert response.redirect_chain == [(f"/ops/servers/{server.pk}/", 302)]
    assert f"/ops/operations/{operation.pk}/" in response.content.decode()
    run_operations()

    operation.refresh_from_db()
    [probe] = operation.result["servers"]
    assert (probe["id"], probe["ok"], probe["engine_version"]) == (server.pk, True, "fake-1.0")
    assert any(call[:2] == ("run", server.pk) and call[2][:2] == ("sh", "-c")
               for call in remote.calls)
    assert "fake-1.0" in outcome(ops, operation)
