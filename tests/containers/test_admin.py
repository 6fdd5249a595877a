"""Relays in the Django admin: a read-only list for admins and super admins, and actions that
go through the services and say what happened. The admission token is never shown."""

import pytest

from apps.audit.models import AuditEvent
from apps.containers.models import DerpInstance, InstanceStatus
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


def test_stop_and_start_actions(operator, fleet, fake_engine):
    client = signed_in_client(operator)
    response = act(client, "stop", fleet["running"], fleet["stopped"])
    assert DerpInstance.objects.get(pk=fleet["running"].pk).status == InstanceStatus.STOPPED
    text = messages_of(response)
    assert "1 relay(s) stopped." in text
    assert any("Only a running relay can be stopped." in m for m in text)

    act(client, "start", fleet["running"], fleet["stopped"])
    assert set(DerpInstance.objects.values_list("status", flat=True)) == {"running"}
    assert AuditEvent.objects.filter(action="containers.started", actor=operator).count() == 2


def test_restart_action(operator, fleet, fake_engine):
    response = act(signed_in_client(operator), "restart", fleet["running"])
    assert "1 relay(s) restarted." in messages_of(response)


def test_remove_action(operator, fleet, fake_engine):
    act(signed_in_client(operator), "remove", fleet["running"])
    assert DerpInstance.objects.get(pk=fleet["running"].pk).status == InstanceStatus.REMOVED


def test_migrate_action_moves_to_the_least_loaded_server(operator, fleet, fake_engine):
    response = act(signed_in_client(operator), "migrate", fleet["running"])
    moved = DerpInstance.objects.get(replaces=fleet["running"])
    assert moved.server == fleet["servers"][2] and moved.status == InstanceStatus.RUNNING
    assert "1 relay(s) moved." in messages_of(response)


def test_reconcile_action_reports_per_server(operator, fleet, fake_engine):
    fake_engine.containers.pop((fleet["servers"][0].pk, fleet["running"].container_name))
    fake_engine.down.add(fleet["servers"][1].pk)
    response = act(signed_in_client(operator), "reconcile", fleet["running"], fleet["stopped"])
    text = messages_of(response)
    assert any(m.startswith("fleet-a: 0 started") and "1 re-created" in m for m in text)
    assert any(m.startswith("fleet-b: not reconciled") for m in text)


@pytest.mark.parametrize("persona", ["distributor", "user"])
def test_others_cannot_act(personas, persona, fleet, fake_engine):
    response = act(signed_in_client(personas[persona]), "stop", fleet["running"])
    assert response.status_code == 404
    assert DerpInstance.objects.get(pk=fleet["running"].pk).status == InstanceStatus.RUNNING
    assert fake_engine.calls == []
