"""Activating a code provisions the rental's relays once the activation commits: the task is
sent with the plan's servers per rental and the code's pinned servers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.billing.models import Plan
from apps.containers import tasks
from apps.distribution import codes
from apps.distribution import services as distribution
from apps.distribution.models import ActivationCode
from tests.containers.conftest import make_server


@pytest.fixture
def sent(monkeypatch):
    """The provisioning tasks sent (not run): [(user id, servers, pinned ids), ...]."""
    calls = []
    monkeypatch.setattr(tasks.provision_rental, "delay", lambda *args: calls.append(args))
    return calls


def code_for(superadmin, *, servers_per_rental=3, pinned=()):
    plan = Plan.objects.get(duration_days=30)
    plan.servers_per_rental = servers_per_rental
    plan.save(update_fields=["servers_per_rental"])
    code = ActivationCode.objects.create(code=codes.generate(), plan=plan, created_by=superadmin,
                                         paid=True, expires_at=timezone.now() + timedelta(days=30))
    code.servers.set(pinned)
    return code


def test_activation_enqueues_provisioning_on_commit(customer, superadmin, sent,
                                                    django_capture_on_commit_callbacks):
    pinned = [make_server(name="pinned-1"), make_server(name="pinned-2")]
    code = code_for(superadmin, servers_per_rental=4, pinned=pinned)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        distribution.redeem(user=customer, raw_code=code.code)
        assert sent == []  # nothing leaves before the activation commits
    for callback in callbacks:
        callback()

    assert len(sent) == 1
    user_id, servers, pinned_ids = sent[0]
    assert (user_id, servers) == (customer.pk, 4)
    assert sorted(pinned_ids) == sorted(s.pk for s in pinned)


def test_a_code_without_pinned_servers_sends_none(customer, superadmin, sent,
                                                  django_capture_on_commit_callbacks):
    code = code_for(superadmin)
    with django_capture_on_commit_callbacks(execute=True):
        distribution.redeem(user=customer, raw_code=code.code)
    assert sent == [(customer.pk, 3, [])]


def test_a_refused_activation_sends_nothing(customer, superadmin, sent,
                                            django_capture_on_commit_callbacks):
    code = code_for(superadmin)
    code.status = "revoked"
    code.save(update_fields=["status"])
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(distribution.CodeRefused):
        distribution.redeem(user=customer, raw_code=code.code)
    assert sent == []


def test_the_task_provisions_the_rental(customer, superadmin, fake_engine,
                                        django_capture_on_commit_callbacks, monkeypatch):
    """End to end: the task that activation sends makes the relays."""
    for name in ("a", "b", "c"):
        make_server(name=name)
    monkeypatch.setattr(tasks.provision_rental, "delay",
                        lambda *args: tasks.provision_rental.apply(args))
    with django_capture_on_commit_callbacks(execute=True):
        distribution.redeem(user=customer, raw_code=code_for(superadmin).code)
    assert customer.derp_instances.filter(status="running").count() == 3
