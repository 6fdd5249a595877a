"""The operators' server pages: the list, adding a server, one server with its relays, and the
confirmed actions."""

import pytest

from apps.audit.models import AuditEvent
from apps.containers.models import InstanceStatus
from apps.servers import drivers
from apps.servers.models import Server
from tests.conftest import signed_in_client
from tests.servers.conftest import CLIENT_KEY, HOST_KEY_FINGERPRINT, OTHER_HOST_KEY

SECRET_LINE = CLIENT_KEY.splitlines()[1]


@pytest.fixture
def ops(admin_user):
    return signed_in_client(admin_user)


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


def test_adding_shows_the_pinned_fingerprint(ops, remote, new_server_data):
    response = ops.post("/ops/servers/add/", new_server_data, follow=True)

    server = Server.objects.get()
    assert response.redirect_chain[-1][0] == f"/ops/servers/{server.pk}/"
    assert HOST_KEY_FINGERPRINT in response.content.decode()
    assert SECRET_LINE not in response.content.decode()


def test_a_refused_add_keeps_the_fields_but_never_the_secret(ops, remote, fake_engine,
                                                              new_server_data):
    response = ops.post("/ops/servers/add/", {**new_server_data, "ssh_port": 30010})

    assert response.status_code == 400
    page = response.content.decode()
    assert "The relay ports overlap the SSH port." in page
    assert 'value="sh-1"' in page
    assert SECRET_LINE not in page
    assert Server.objects.count() == 0 and remote.calls == [] and fake_engine.calls == []


def test_an_unreachable_server_is_explained_on_the_add_page(ops, remote, new_server_data):
    remote.fetch_error = drivers.RemoteError("cannot reach 127.0.0.2:2222: timed out",
                                             transient=True, code="unreachable")

    response = ops.post("/ops/servers/add/", new_server_data)

    assert response.status_code == 502
    assert "cannot reach 127.0.0.2:2222: timed out" in response.content.decode()
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
                                        place_relay):
    server = make_server()
    relay = place_relay(customer, server)

    response = ops.post(f"/ops/servers/{server.pk}/reconcile/", follow=True)

    assert f"re-created: {relay.container_name}" in response.content.decode()


def test_drain_moves_the_relays(ops, remote, fake_engine, make_server, customer, place_relay):
    source, target = make_server("source"), make_server("target")
    place_relay(customer, source, engine=fake_engine)

    response = ops.post(f"/ops/servers/{source.pk}/drain/", follow=True)

    assert "1 relay moved." in response.content.decode()
    assert target.instances.filter(user=customer, status=InstanceStatus.RUNNING).exists()


def test_repin_pins_the_new_key(ops, remote, make_server):
    server = make_server()
    remote.host_key = OTHER_HOST_KEY

    ops.post(f"/ops/servers/{server.pk}/repin/", {"expected_fingerprint": ""})

    server.refresh_from_db()
    assert server.ssh_host_key == OTHER_HOST_KEY


def test_repin_refuses_an_unexpected_key_on_the_page(ops, remote, make_server):
    server = make_server()
    remote.host_key = OTHER_HOST_KEY

    response = ops.post(f"/ops/servers/{server.pk}/repin/",
                        {"expected_fingerprint": "SHA256:" + "C" * 43})

    assert response.status_code == 409
    server.refresh_from_db()
    assert server.ssh_host_key != OTHER_HOST_KEY


def test_delete_removes_an_empty_server(ops, remote, fake_engine, make_server):
    server = make_server()

    response = ops.post(f"/ops/servers/{server.pk}/delete/")

    assert response.status_code == 302 and response["Location"] == "/ops/servers/"
    assert not Server.objects.filter(pk=server.pk).exists()


def test_delete_refuses_a_server_with_relays(ops, remote, fake_engine, make_server, customer,
                                             place_relay):
    server = make_server()
    place_relay(customer, server, engine=fake_engine)

    response = ops.post(f"/ops/servers/{server.pk}/delete/")

    assert response.status_code == 409
    assert "drain it first" in response.content.decode()
    assert Server.objects.filter(pk=server.pk).exists()
    assert not AuditEvent.objects.filter(action="servers.deleted").exists()


def test_check_now_reports_the_ssh_time_and_engine(ops, remote, fake_engine, make_server):
    server = make_server()

    response = ops.post(f"/ops/servers/{server.pk}/check/", follow=True)

    assert "container engine fake-1.0" in response.content.decode()
    assert ("run", server.pk, ("true",)) in remote.calls
