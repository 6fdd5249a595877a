"""A purchase while the broker (Redis) is down: answered, charged once, and provisioned once the
broker is back — never charged and lost. A real panel (gunicorn), a real Redis that is down and
then up, a real worker and beat, the sshd + podman servers."""

import http.client
import json

import pytest

from apps.accounts.models import ApiToken
from apps.billing import services as billing
from apps.billing.models import Order, Plan
from apps.containers.models import DerpInstance, InstanceStatus
from apps.operations.models import Operation, OperationKind, OperationState
from tests import parts, workers
from tests.acl import live_panel
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _purchase(port: int, token: str) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/api/billing/purchase", body=json.dumps({"duration_days": 30}),
                           headers={"Authorization": f"Bearer {token}",
                                    "Content-Type": "application/json", "Host": "127.0.0.1"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def test_a_purchase_with_the_broker_down_is_charged_once_and_provisioned_when_it_is_back(
        fleet, fleet_worker_env, superadmin, sweeper, celery_broker, celery_processes, tmp_path):
    fleet.add(3)
    plan, _ = Plan.objects.update_or_create(duration_days=30, defaults={
        "name": "30 days", "price_fen": 3000, "servers_per_rental": 3, "active": True})
    customer = UserFactory(email_verified=True)
    billing.top_up(actor=superadmin, user=customer, amount_fen=5000, reference="bank 1")
    _token, raw_token = ApiToken.issue(customer)
    redis_port = parts.free_port()
    broker_url = f"redis://127.0.0.1:{redis_port}/0"  # nothing listens there yet
    panel_env = workers.process_env(celery_broker, CELERY_BROKER_URL=broker_url, REDIS_URL="")
    port = live_panel.free_port()

    with live_panel.serve(bind="127.0.0.1", port=port, env=panel_env, log=tmp_path / "panel.log"):
        status, body = _purchase(port, raw_token)

    assert status == 201, body
    assert billing.balance_of(customer) == 2000  # charged once
    assert Order.objects.filter(buyer=customer, plan=plan).count() == 1
    [operation] = Operation.objects.filter(kind=OperationKind.PROVISION, customer_id=customer.pk)
    assert operation.state == OperationState.QUEUED  # recorded with the payment, not yet sent

    broker = workers.Broker(broker_url, celery_broker.queue,
                            {**celery_broker.env, "CELERY_BROKER_URL": broker_url})
    with workers.redis_server(redis_port):
        worker = workers.start_worker(broker, tmp_path / "worker.log", beat=True,
                                      **fleet_worker_env)
        celery_processes.append(worker)
        workers.wait_until(lambda: _done(operation), processes=[worker], timeout=90,
                           what="the provisioning once the broker is back")
        worker.stop()

    assert operation.state == OperationState.DONE, operation.error
    assert DerpInstance.objects.filter(user=customer, status=InstanceStatus.RUNNING).count() == 3
    assert billing.balance_of(customer) == 2000


def _done(operation: Operation) -> bool:
    operation.refresh_from_db()
    return operation.finished
