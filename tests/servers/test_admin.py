"""Servers in the Django admin, for super admins and admins alike (adding and deleting need a
super admin's grant: tests/servers/test_grants.py): adding saves the server and queues its
set-up, editing touches only the editable settings, actions queue operations (the worker does
the remote part), the credential is never shown, and the stock delete is gone."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from apps.audit.models import AuditEvent
from apps.containers.models import InstanceStatus
from apps.operations.models import Operation
from apps.servers.models import Server
from tests.conftest import signed_in_client
from tests.servers.conftest import (
    CLIENT_KEY,
    HOST_KEY_FINGERPRINT,
    OTHER_FINGERPRINT,
    OTHER_HOST_KEY,
    SERVER_GRANTS,
    grant,
)

CHANGELIST = "/admin/servers/server/"
ADD = "/admin/servers/server/add/"
SECRET_LINE = CLIENT_KEY.splitlines()[1]

pytestmark = pytest.mark.parametrize("persona", ["superadmin", "admin"])


def change_url(server) -> str:
    return f"/admin/servers/server/{server.pk}/change/"


def change_data(server, **changes) -> dict:
    data = {"name": server.name, "aliyun_account": server.aliyun_account,
            "location": server.location, "region": server.region,
            "port_range_start": server.port_range_start, "port_range_end": server.port_range_end,
            "max_containers": server.max_containers, "quota_reset_day": server.quota_reset_day,
            "status": server.status, "derp_image": server.derp_image,
            "monthly_quota_gb": server.monthly_quota_bytes // 1024**3,
            "instances-TOTAL_FORMS": 0, "instances-INITIAL_FORMS": 0,
            "instances-MIN_NUM_FORMS": 0, "instances-MAX_NUM_FORMS": 0}
    return {**data, **changes}


def granted(personas, persona):
    """The persona, allowed to add and delete servers (a super admin is; an admin is granted)."""
    user = personas[persona]
    return grant(user, *SERVER_GRANTS) if persona == "admin" else user


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def act(client, action: str, servers, **extra):
    return client.post(CHANGELIST, {"action": action, "index": 0,
                                    ACTION_CHECKBOX_NAME: [s.pk for s in servers], **extra})


def test_the_changelist_shows_the_seeds_columns(personas, persona, make_server, customer,
                                                 place_relay):
    server = make_server("hz-1", aliyun_account="13900139000", location="Hangzhou",
                         traffic_total_bytes=5 * 1024**3, monthly_quota_bytes=100 * 1024**3,
                         traffic_month_bytes=40 * 1024**3)
    place_relay(customer, server)

    response = signed_in_client(personas[persona]).get(CHANGELIST)

    assert response.status_code == 200
    page = response.content.decode()
    for shown in ("hz-1", "13900139000", "Hangzhou", server.public_ip, "1 / 100", "5.0\xa0GB",
                  "60.0\xa0GB"):
        assert shown in page, shown


def test_adding_queues_the_set_up_and_its_page_shows_the_fingerprint(
        personas, persona, remote, new_server_data, run_operations):
    client = signed_in_client(granted(personas, persona))
    assert client.get(ADD).status_code == 200

    response = client.post(ADD, new_server_data, follow=True)

    operation = Operation.objects.get(kind="add_server")
    server = Server.objects.get()
    assert response.redirect_chain[0][0] == f"/ops/operations/{operation.pk}/"
    assert f'<a href="/ops/operations/{operation.pk}/">#{operation.pk}</a>' in messages_of(response)
    assert (operation.server_id, server.status) == (server.pk, "setting_up")
    assert remote.calls == []

    run_operations()

    page = client.get(f"/ops/operations/{operation.pk}/").content.decode()
    assert HOST_KEY_FINGERPRINT in page and SECRET_LINE not in page
    assert HOST_KEY_FINGERPRINT in client.get(change_url(server)).content.decode()
    assert AuditEvent.objects.filter(action="servers.added", actor=personas[persona]).exists()


def test_a_bad_add_is_a_400_that_saves_nothing_and_keeps_what_was_typed(
        personas, persona, remote, fake_engine, new_server_data):
    response = signed_in_client(granted(personas, persona)).post(
        ADD, {**new_server_data, "port_range_start": 31000, "port_range_end": 30000})

    assert response.status_code == 400
    assert Server.objects.count() == 0 and not Operation.objects.exists()
    assert remote.calls == [] and fake_engine.calls == []
    assert SECRET_LINE in response.content.decode()  # shown back to correct, not pasted again
    assert response.content.decode().count('<fieldset class="module aligned">') == 4  # grouped
    assert "no-store" in response["Cache-Control"]


def test_an_unreachable_server_fails_its_set_up_and_is_forgotten(personas, persona, remote,
                                                                  new_server_data,
                                                                  run_operations):
    from apps.servers import drivers

    remote.fetch_error = drivers.RemoteError("cannot reach 127.0.0.2:2222", transient=True,
                                             code="unreachable")
    client = signed_in_client(granted(personas, persona))
    response = client.post(ADD, new_server_data)
    assert response.status_code == 302

    run_operations()

    page = client.get(response["Location"]).content.decode()
    assert 'data-state="failed"' in page and "no SSH server answered at 127.0.0.2:2222" in page
    assert Server.objects.count() == 0


def test_the_change_page_never_shows_the_credential(personas, persona, make_server):
    server = make_server()

    response = signed_in_client(personas[persona]).get(change_url(server))

    page = response.content.decode()
    assert response.status_code == 200
    assert SECRET_LINE not in page and server.ssh_secret_encrypted not in page
    assert HOST_KEY_FINGERPRINT in page
    fields = set(response.context["adminform"].form.fields)
    assert not fields & {"public_ip", "domain", "ssh_host", "ssh_port", "ssh_user", "ssh_auth",
                         "ssh_secret_encrypted", "ssh_host_key"}


def test_editing_changes_the_settings_and_is_audited(personas, persona, make_server):
    server = make_server("before")
    data = change_data(server, name="renamed", monthly_quota_gb=500, status="maintenance",
                       public_ip="127.9.9.9")

    response = signed_in_client(personas[persona]).post(change_url(server), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    server.refresh_from_db()
    assert (server.name, server.monthly_quota_bytes, server.status) == (
        "renamed", 500 * 1024**3, "maintenance")
    assert server.public_ip != "127.9.9.9"  # fixed when added
    event = AuditEvent.objects.get(action="servers.updated")
    assert event.details["changes"]["name"] == ["before", "renamed"]
    assert event.actor == personas[persona]


@pytest.mark.parametrize(("changes", "field"), [
    ({"port_range_start": 31000, "port_range_end": 30000}, "port_range_end"),
    ({"port_range_start": 2000, "port_range_end": 3000}, "port_range_start"),  # SSH on 2222
    ({"max_containers": 0}, "max_containers"),
    ({"status": "exploded"}, "status"),
    ({"quota_reset_day": 31}, "quota_reset_day"),
])
def test_a_bad_edit_is_refused_on_its_field(personas, persona, make_server, changes, field):
    server = make_server()

    response = signed_in_client(personas[persona]).post(change_url(server),
                                                        change_data(server, **changes))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not AuditEvent.objects.filter(action="servers.updated").exists()


def test_the_stock_delete_is_gone(personas, persona, make_server):
    server = make_server()
    client = signed_in_client(granted(personas, persona))

    assert client.post(f"/admin/servers/server/{server.pk}/delete/", {"post": "yes"}).status_code == 403
    actions = dict(client.get(CHANGELIST).context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions and "delete_servers" in actions
    assert Server.objects.filter(pk=server.pk).exists()


def test_the_delete_action_asks_then_queues_the_deletion(personas, persona, remote, fake_engine,
                                                         make_server, run_operations):
    server = make_server()
    client = signed_in_client(granted(personas, persona))

    asked = act(client, "delete_servers", [server])
    assert asked.status_code == 200 and server.name in asked.content.decode()
    assert Server.objects.filter(pk=server.pk).exists() and not Operation.objects.exists()

    act(client, "delete_servers", [server], apply=1)
    operation = Operation.objects.get(kind="delete_server", server_id=server.pk)
    assert Server.objects.get(pk=server.pk).status == "maintenance"  # takes no relays meanwhile

    run_operations()

    operation.refresh_from_db()
    assert operation.state == "done"
    assert not Server.objects.filter(pk=server.pk).exists()
    assert AuditEvent.objects.filter(action="servers.deleted").exists()


def test_the_delete_action_refuses_a_server_with_relays(personas, persona, remote, fake_engine,
                                                        make_server, customer, place_relay):
    server = make_server()
    place_relay(customer, server, engine=fake_engine)

    response = act(signed_in_client(granted(personas, persona)), "delete_servers", [server],
                   apply=1)

    assert response.status_code == 302
    assert Server.objects.filter(pk=server.pk, status="healthy").exists()
    assert not Operation.objects.exists()


def test_the_repin_action_checks_the_expected_fingerprint(personas, persona, remote, make_server,
                                                          run_operations):
    server = make_server()
    remote.host_key = OTHER_HOST_KEY
    client = signed_in_client(personas[persona])

    act(client, "repin_host_keys", [server], apply=1, expected_fingerprint="SHA256:" + "B" * 43)
    run_operations()
    refused = Operation.objects.get(kind="repin")
    assert (refused.state, refused.error_code) == ("failed", "host_key_mismatch")
    server.refresh_from_db()
    assert server.ssh_host_key != OTHER_HOST_KEY

    act(client, "repin_host_keys", [server], apply=1, expected_fingerprint=OTHER_FINGERPRINT)
    run_operations()
    server.refresh_from_db()
    assert server.ssh_host_key == OTHER_HOST_KEY


def test_the_reconcile_and_drain_actions_queue_their_operations(personas, persona, remote,
                                                                fake_engine, make_server, customer,
                                                                place_relay, run_operations):
    source, target = make_server("source"), make_server("target")
    relay = place_relay(customer, source)  # no container yet: reconcile re-creates it
    client = signed_in_client(personas[persona])

    act(client, "reconcile", [source])
    assert Operation.objects.filter(kind="reconcile", server_id=source.pk).exists()
    assert fake_engine.calls == []
    run_operations()
    assert ("run_relay", source.pk, relay.container_name) in fake_engine.calls

    assert act(client, "drain", [source]).status_code == 200  # the confirmation page
    act(client, "drain", [source], apply=1)
    assert Server.objects.get(pk=source.pk).status == "draining"
    run_operations()
    assert Operation.objects.get(kind="drain").result["moved"] != []
    relay.refresh_from_db()
    assert relay.status == InstanceStatus.REMOVED
    assert target.instances.filter(status=InstanceStatus.RUNNING, user=customer).exists()
