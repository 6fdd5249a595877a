"""GET /api/operations/<id>, GET /api/operations and POST /api/operations/<id>/cancel: staff
follow and cancel the fleet's work; a customer follows the work done for them (the operators'
error text hidden) and cancels nothing; anyone else is told nothing is there."""

import pytest

from apps.audit.models import AuditEvent
from apps.containers import requests
from apps.operations.models import Operation, OperationKind, OperationState
from tests.conftest import token_client
from tests.containers.conftest import make_server, relay

HUGE = 10**30


@pytest.fixture
def failed_provisioning(customer, superadmin):
    """A customer's provisioning that failed with an operator's error message."""
    return Operation.objects.create(
        kind=OperationKind.PROVISION, state=OperationState.FAILED, customer_id=customer.pk,
        requested_by=superadmin, error="paramiko.SSHException: EOF on 198.51.100.7",
        error_code="unreachable", target_label=str(customer))


def test_staff_read_an_operation_with_its_error(admin_user, failed_provisioning):
    response = token_client(admin_user).get(f"/api/operations/{failed_provisioning.pk}")

    assert response.status_code == 200
    operation = response.json()["operation"]
    assert (operation["id"], operation["kind"], operation["state"]) == (
        failed_provisioning.pk, "provision", "failed")
    assert operation["error"] == "paramiko.SSHException: EOF on 198.51.100.7"
    assert operation["requested_by"] == "root@example.com"
    assert operation["url"] == f"/api/operations/{failed_provisioning.pk}"


def test_the_customer_reads_their_own_without_the_operators_details(customer, failed_provisioning):
    response = token_client(customer).get(f"/api/operations/{failed_provisioning.pk}")

    assert response.status_code == 200
    operation = response.json()["operation"]
    assert operation["state"] == "failed" and operation["error"]
    text = response.content.decode()
    assert "paramiko" not in text and "198.51.100.7" not in text
    assert operation["requested_by"] is None and "root@example.com" not in text


@pytest.mark.parametrize("persona", ["stranger", "distributor"])
def test_anyone_else_is_told_there_is_none(personas, failed_provisioning, persona):
    response = token_client(personas[persona]).get(f"/api/operations/{failed_provisioning.pk}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "paramiko" not in response.content.decode()


@pytest.mark.parametrize("pk", ["987654", "abc", str(HUGE), "-1", "0"])
def test_an_unknown_or_malformed_id_is_a_404(admin_user, pk):
    response = token_client(admin_user).get(f"/api/operations/{pk}")

    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_anonymous_callers_must_authenticate(anon_api, failed_provisioning):
    response = anon_api.get(f"/api/operations/{failed_provisioning.pk}")

    assert response.status_code == 401


@pytest.fixture
def fleet_work(admin_user, customer, fake_engine):
    """A stop on one server (queued) and a reconcile of another (done)."""
    first, second = make_server(name="first"), make_server(name="second")
    stop = requests.relay_action(OperationKind.STOP, actor=admin_user,
                                 instance=relay(customer, first, engine=fake_engine))
    reconcile = requests.reconcile(actor=admin_user, server=second)
    Operation.objects.filter(pk=reconcile.pk).update(state=OperationState.DONE)
    return {"first": first, "second": second, "stop": stop, "reconcile": reconcile}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:300]
    return [operation["id"] for operation in response.json()["results"]]


def test_the_list_filters_by_server_and_state(admin_user, fleet_work):
    api = token_client(admin_user)

    assert ids(api.get("/api/operations")) == [fleet_work["reconcile"].pk, fleet_work["stop"].pk]
    assert ids(api.get(f"/api/operations?server_id={fleet_work['first'].pk}")) == [
        fleet_work["stop"].pk]
    assert ids(api.get("/api/operations?state=done")) == [fleet_work["reconcile"].pk]
    assert ids(api.get(f"/api/operations?server_id={fleet_work['second'].pk}&state=queued")) == []
    assert ids(api.get("/api/operations?kind=stop")) == [fleet_work["stop"].pk]


@pytest.mark.parametrize("query", ["server_id=abc", "server_id=1.5", f"server_id={HUGE}",
                                   "server_id=0", "state=lost", "kind=explode", "page=x"])
def test_bad_list_filters_are_400(admin_user, fleet_work, query):
    response = token_client(admin_user).get(f"/api/operations?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_a_customer_lists_only_the_work_done_for_them(customer, stranger, fleet_work):
    assert ids(token_client(customer).get("/api/operations")) == [fleet_work["stop"].pk]
    assert ids(token_client(stranger).get("/api/operations")) == []


# --- Cancelling ------------------------------------------------------------------------------

def cancel(user, operation):
    return token_client(user).post(f"/api/operations/{operation.pk}/cancel")


def test_a_queued_operation_is_cancelled_and_never_runs(admin_user, fleet_work, fake_engine,
                                                        run_operations):
    response = cancel(admin_user, fleet_work["stop"])

    assert response.status_code == 200
    assert response.json()["operation"]["state"] == "cancelled"
    assert AuditEvent.objects.filter(action="operations.cancelled", actor=admin_user).exists()
    assert run_operations() == 0
    assert fake_engine.calls == []
    stopped = Operation.objects.get(pk=fleet_work["stop"].pk)
    assert stopped.state == OperationState.CANCELLED and stopped.finished_at


def test_a_running_stop_cannot_be_cancelled(admin_user, fleet_work):
    Operation.objects.filter(pk=fleet_work["stop"].pk).update(state=OperationState.RUNNING)

    response = cancel(admin_user, fleet_work["stop"])

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_cancellable"
    running = Operation.objects.get(pk=fleet_work["stop"].pk)
    assert running.state == OperationState.RUNNING and not running.cancel_requested


def test_a_running_drain_is_asked_to_stop_at_its_next_safe_step(admin_user, fake_engine):
    drain = requests.drain(actor=admin_user, server=make_server())
    Operation.objects.filter(pk=drain.pk).update(state=OperationState.RUNNING)

    response = cancel(admin_user, drain)

    assert response.status_code == 200
    body = response.json()["operation"]
    assert (body["state"], body["cancel_requested"]) == ("running", True)


def test_a_finished_operation_cannot_be_cancelled(admin_user, fleet_work):
    response = cancel(admin_user, fleet_work["reconcile"])

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "finished"
    assert Operation.objects.get(pk=fleet_work["reconcile"].pk).state == OperationState.DONE


@pytest.mark.parametrize(("persona", "status"), [("distributor", 404), ("stranger", 404),
                                                 ("user", 404)])
def test_only_staff_cancel(personas, fleet_work, persona, status):
    response = cancel(personas[persona], fleet_work["stop"])

    assert response.status_code == status
    assert Operation.objects.get(pk=fleet_work["stop"].pk).state == OperationState.QUEUED
    assert not AuditEvent.objects.filter(action="operations.cancelled").exists()
