"""Activating a code records the rental's provisioning as an operation in the activation's own
transaction (the payment and the work commit together, or neither does), with the plan's servers
per rental and the code's pinned servers; the broker is told only once that commits, and a
worker then makes the relays."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.billing.models import Plan
from apps.distribution import codes
from apps.distribution import services as distribution
from apps.distribution.models import ActivationCode
from apps.operations import services as operations
from apps.operations.models import Operation, OperationKind, OperationState
from tests.containers.conftest import make_server


@pytest.fixture
def hinted(monkeypatch):
    """The operations the broker was told about (the hint a worker picks up): [id, ...]."""
    sent = []
    monkeypatch.setattr(operations, "send", lambda operation_id, **kw: sent.append(operation_id))
    return sent


def code_for(superadmin, *, servers_per_rental=3, pinned=()):
    plan = Plan.objects.get(duration_days=30)
    plan.servers_per_rental = servers_per_rental
    plan.save(update_fields=["servers_per_rental"])
    code = ActivationCode.objects.create(code=codes.generate(), plan=plan, created_by=superadmin,
                                         paid=True, expires_at=timezone.now() + timedelta(days=30))
    code.servers.set(pinned)
    return code


def test_activation_records_one_provision_operation(customer, superadmin, hinted,
                                                    django_capture_on_commit_callbacks):
    pinned = [make_server(name="pinned-1"), make_server(name="pinned-2")]
    code = code_for(superadmin, servers_per_rental=4, pinned=pinned)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        distribution.redeem(user=customer, raw_code=code.code)
        operation = Operation.objects.get()  # written with the activation, before it commits
        assert hinted == []  # the broker hears of it only once the activation commits
    for callback in callbacks:
        callback()

    assert (operation.kind, operation.state) == (OperationKind.PROVISION, OperationState.QUEUED)
    assert operation.customer_id == customer.pk
    assert operation.args["servers"] == 4
    assert sorted(operation.args["pinned_ids"]) == sorted(s.pk for s in pinned)
    assert hinted == [operation.pk]


def test_a_code_without_pinned_servers_asks_for_the_plans_count(customer, superadmin, hinted):
    distribution.redeem(user=customer, raw_code=code_for(superadmin).code)

    operation = Operation.objects.get()
    assert operation.args == {"servers": 3, "pinned_ids": []}


def test_the_operation_goes_if_the_activation_is_rolled_back(customer, superadmin, hinted,
                                                              django_capture_on_commit_callbacks):
    code = code_for(superadmin)

    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError),
          transaction.atomic()):
        distribution.redeem(user=customer, raw_code=code.code)
        raise RuntimeError("the caller's transaction fails after the activation")

    assert not Operation.objects.exists() and hinted == []
    code.refresh_from_db()
    assert code.status == "unused"


def test_a_refused_activation_records_nothing(customer, superadmin, hinted,
                                              django_capture_on_commit_callbacks):
    code = code_for(superadmin)
    code.status = "revoked"
    code.save(update_fields=["status"])
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(distribution.CodeRefused):
        distribution.redeem(user=customer, raw_code=code.code)
    assert not Operation.objects.exists() and hinted == []


def test_the_operation_provisions_the_rental(customer, superadmin, fake_engine, hinted,
                                             run_operations):
    """End to end: the operation that activation records makes the relays."""
    for name in ("a", "b", "c"):
        make_server(name=name)
    distribution.redeem(user=customer, raw_code=code_for(superadmin).code)

    assert run_operations() == 1

    assert customer.derp_instances.filter(status="running").count() == 3
    operation = Operation.objects.get()
    assert operation.state == OperationState.DONE and len(operation.result["created"]) == 3


def test_activating_again_while_provisioning_is_queued_records_no_second_one(customer, superadmin,
                                                                            hinted):
    distribution.redeem(user=customer, raw_code=code_for(superadmin).code)
    distribution.redeem(user=customer, raw_code=code_for(superadmin).code)

    assert Operation.objects.filter(kind=OperationKind.PROVISION).count() == 1
