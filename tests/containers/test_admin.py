"""Relays in the Django admin: a read-only list for admins and super admins, and actions that
queue one operation per relay, say so with links to follow them (and why any was refused); the
worker then does what was asked. The admission token is never shown."""

import pytest

from apps.audit.models import AuditEvent
from apps.containers.models import DerpInstance, InstanceStatus
from apps.operations.models import Operation
from tests.conftest import signed_in_client
from tests.containers.conftest import relay

CHANGELIST = "/admin/containers/derpinstance/"


@pytest.fixture(params=["superadmin", "admin"])
def operator(request, personas):
    return personas[request.param]


def act(client, action, *instances):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [i.pk for i in instances]},
                       follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def queued_message(*operations) -> str:
    links = ", ".join(f'<a href="/ops/operations/{o.pk}/">#{o.pk}</a>' for o in operations)
    return f"Queued; follow the progress here: {links}"


def test_the_list_shows_user_server_port_status_and_error(operator, fleet):
    failed = relay(fleet["renter"], fleet["servers"][2], status=InstanceStatus.ERROR)
    failed.last_error = "image not found"
    failed.save(update_fields=["last_error"])
    body = signed_in_client(operator).get(CHANGELIST).content.decode()
    assert "fleet-a" in body and "image not found" in body and fleet["renter"].email in body
    assert fleet["running"].admission_token not in body


def test_the_detail_page_is_read_only_and_hides_the_token(operator, fleet):
    response = signed_in_client(operator).get(f"{CHANGELIST}{fleet['running'].pk}/change/")
    body = response.content.decode()
    assert response.status_code == 200
    assert fleet["running"].admission_token not in body
    assert 'name="_save"' not in body


def test_filters_and_search(operator, fleet):
    client = signed_in_client(operator)
    stopped_only = client.get(f"{CHANGELIST}?status=stopped").context["cl"].result_list
    assert list(stopped_only) == [fleet["stopped"]]
    found = client.get(f"{CHANGELIST}?q=fleet-a").context["cl"].result_list
    assert list(found) == [fleet["running"]]


def test_no_add_and_no_delete(operator, fleet):
    client = signed_in_client(operator)
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.get(f"{CHANGELIST}{fleet['running'].pk}/delete/").status_code == 403


def test_stop_and_start_actions(operator, fleet, fake_engine, run_operations):
    client = signed_in_client(operator)
    response = act(client, "stop", fleet["running"], fleet["stopped"])
    stop = Operation.objects.get(kind="stop")
    assert stop.instance_id == fleet["running"].pk and stop.requested_by == operator
    text = messages_of(response)
    assert queued_message(stop) in text
    assert any("Only a running relay can be stopped." in m for m in text), text
    assert DerpInstance.objects.get(pk=fleet["running"].pk).status == InstanceStatus.RUNNING

    run_operations()
    assert DerpInstance.objects.get(pk=fleet["running"].pk).status == InstanceStatus.STOPPED

    response = act(client, "start", fleet["running"], fleet["stopped"])
    starts = Operation.objects.filter(kind="start").order_by("pk")
    assert queued_message(*starts) in messages_of(response)
    run_operations()
    assert set(DerpInstance.objects.values_list("status", flat=True)) == {"running"}
    assert AuditEvent.objects.filter(action="containers.started", actor=operator).count() == 2


def test_restart_action(operator, fleet, fake_engine, run_operations):
    response = act(signed_in_client(operator), "restart", fleet["running"])
    assert queued_message(Operation.objects.get(kind="restart")) in messages_of(response)
    run_operations()
    assert [c[0] for c in fake_engine.calls] == ["stop", "start"]
    assert DerpInstance.objects.get(pk=fleet["running"].pk).status == InstanceStatus.RUNNING
    assert Operation.objects.get(kind="restart").state == "done"


def test_remove_action(operator, fleet, fake_engine, run_operations):
    act(signed_in_client(operator), "remove", fleet["running"])
    run_operations()
    assert DerpInstance.objects.get(pk=fleet["running"].pk).status == InstanceStatus.REMOVED


def test_migrate_action_moves_to_the_least_loaded_server(operator, fleet, fake_engine,
                                                         run_operations):
    response = act(signed_in_client(operator), "migrate", fleet["running"])
    assert queued_message(Operation.objects.get(kind="migrate")) in messages_of(response)
    run_operations()
    moved = DerpInstance.objects.get(replaces=fleet["running"])
    assert moved.server == fleet["servers"][2] and moved.status == InstanceStatus.RUNNING


def test_reconcile_action_queues_one_per_server(operator, fleet, fake_engine, run_operations):
    fake_engine.containers.pop((fleet["servers"][0].pk, fleet["running"].container_name))
    fake_engine.down.add(fleet["servers"][1].pk)
    response = act(signed_in_client(operator), "reconcile", fleet["running"], fleet["stopped"])
    by_server = {o.server_id: o for o in Operation.objects.filter(kind="reconcile")}
    assert set(by_server) == {fleet["servers"][0].pk, fleet["servers"][1].pk}
    assert queued_message(*sorted(by_server.values(), key=lambda o: o.pk)) in messages_of(response)

    run_operations()

    reachable, down = (Operation.objects.get(pk=by_server[s.pk].pk) for s in fleet["servers"][:2])
    assert reachable.state == "done"
    assert reachable.result["recreated"] == [fleet["running"].container_name]
    assert (down.state, down.error_code) == ("queued", "server_unreachable")  # tried again later
    assert "unreachable" in down.error


@pytest.mark.parametrize("persona", ["distributor", "user"])
def test_others_cannot_act(personas, persona, fleet, fake_engine):
    response = act(signed_in_client(personas[persona]), "stop", fleet["running"])
    assert response.status_code == 404
    assert DerpInstance.objects.get(pk=fleet["running"].pk).status == InstanceStatus.RUNNING
    assert fake_engine.calls == [] and not Operation.objects.exists()
