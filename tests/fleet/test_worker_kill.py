"""Paid work is never lost: real Celery workers are killed with SIGKILL in the middle of
provisioning on the sshd + podman test servers, and what the sweeper finds afterwards is
finished, exactly once, with no container left over.

The kill lands mid-provisioning by construction, not by luck: the worker reaches the servers'
container engines through a dial command that waits for a gate file, so the relays' rows exist
(pending) while their containers cannot be made yet; the test kills, then opens the gate.
"""

import os
import shlex
import signal
import time

import pytest
from django.conf import settings
from django.db import transaction

from apps.containers import services as containers
from apps.containers.engine import LABEL_PANEL, LABEL_USER
from apps.containers.models import DerpInstance, InstanceStatus
from apps.operations.models import Operation, OperationState
from tests import workers
from tests.conftest import signed_in_client
from tests.fleet import infra
from tests.fleet.support import renter

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gate(tmp_path):
    """A file the servers' dial command waits for: absent, engine calls hang; present, they go."""
    return tmp_path / "engine-gate"


@pytest.fixture
def worker_env(fleet_worker_env, gate):
    """The fleet's worker settings, with engine calls held at the gate."""
    dial = f"while [ ! -e {shlex.quote(str(gate))} ]; do sleep 0.05; done; exec {infra.DIAL_COMMAND}"
    return {**fleet_worker_env, "DOCKER_DIAL_COMMAND": f"sh -c {shlex.quote(dial)}"}


def _provisioning(user, servers: int = 3) -> Operation:
    with transaction.atomic():
        return containers.request_provisioning(user=user, servers=servers)


def _run(celery_broker, operation: Operation) -> None:
    with celery_broker.app() as app:
        app.send_task("operations.run", args=[operation.pk], queue=celery_broker.queue)


def _relays_pending(user, count: int):
    return DerpInstance.objects.filter(user=user, status=InstanceStatus.PENDING).count() >= count


def _finished(operation: Operation):
    operation.refresh_from_db()
    return operation.state in (OperationState.DONE, OperationState.FAILED)


def _assert_exactly_running(fleet, user, count: int) -> None:
    """`count` relays running on distinct servers, each with its one running container, and no
    other container of the user anywhere (no orphan, no duplicate)."""
    running = list(DerpInstance.objects.filter(user=user, status=InstanceStatus.RUNNING))
    assert len(running) == count
    assert len({relay.server_id for relay in running}) == count
    assert not DerpInstance.objects.filter(user=user).exclude(
        status__in=(InstanceStatus.RUNNING,)).exclude(status=InstanceStatus.ERROR).exists()
    containers_of_user = fleet.docker.containers.list(all=True, filters={"label": [
        f"{LABEL_PANEL}={settings.PANEL_ID}", f"{LABEL_USER}={user.pk}"]})
    assert sorted(c.name for c in containers_of_user) == sorted(r.container_name for r in running)
    assert all(c.status == "running" for c in containers_of_user)


def test_a_worker_killed_whole_mid_provisioning_is_finished_after_the_sweeper(
        fleet, celery_broker, gate, worker_env, sweeper, celery_processes, tmp_path):
    fleet.add(3)
    user = renter()
    operation = _provisioning(user)
    first = workers.start_worker(celery_broker, tmp_path / "first.log", beat=True,
                                 name="first",
                                 **worker_env)
    celery_processes.append(first)
    _run(celery_broker, operation)
    workers.wait_until(lambda: _relays_pending(user, 3), processes=[first],
                       what="three relays being set up")

    first.kill_group()
    gate.touch()
    operation.refresh_from_db()
    assert operation.state == OperationState.RUNNING  # held by a dead worker until its lease ends

    second = workers.start_worker(celery_broker, tmp_path / "second.log", beat=True,
                                  name="second",
                                  **worker_env)
    celery_processes.append(second)
    workers.wait_until(lambda: _finished(operation), processes=[second], timeout=90,
                       what="the provisioning to finish")

    assert operation.state == OperationState.DONE, operation.error
    assert operation.attempts == 2
    _assert_exactly_running(fleet, user, 3)


def test_a_killed_pool_process_loses_nothing(fleet, celery_broker, gate, worker_env, sweeper,
                                             celery_processes, tmp_path):
    fleet.add(3)
    user = renter()
    operation = _provisioning(user)
    worker = workers.start_worker(celery_broker, tmp_path / "worker.log", name="pool",
                                  **worker_env)
    beat = workers.start_beat(celery_broker, tmp_path / "beat.log", **worker_env)
    celery_processes.extend([worker, beat])
    _run(celery_broker, operation)
    workers.wait_until(lambda: _relays_pending(user, 3), processes=[worker],
                       what="three relays being set up")
    [pool_process] = worker.pool_children()

    os.kill(pool_process, signal.SIGKILL)
    gate.touch()

    workers.wait_until(lambda: _finished(operation), processes=[worker, beat], timeout=90,
                       what="the provisioning to finish")
    assert operation.state == OperationState.DONE, operation.error
    _assert_exactly_running(fleet, user, 3)


def test_a_move_is_answered_at_once_and_done_by_the_worker(fleet, celery_broker, gate, worker_env,
                                                           sweeper, celery_processes, tmp_path,
                                                           superadmin):
    source_server, target = fleet.add(2)
    user = renter()
    gate.touch()  # the servers answer at once here: what is measured is the request alone
    containers.provision_rental(user_id=user.pk, servers=1, pinned_ids=[source_server.pk])
    relay = DerpInstance.objects.get(user=user, status=InstanceStatus.RUNNING)
    worker = workers.start_worker(celery_broker, tmp_path / "worker.log", beat=True, name="move",
                                  **worker_env)
    celery_processes.append(worker)
    client = signed_in_client(superadmin)
    # A warm process, as in production: one request of the same shape has been served before.
    assert client.post(f"/api/server/{target.pk}/reconcile").status_code == 202

    started = time.perf_counter()
    response = client.post(f"/api/container/{relay.pk}/migrate",
                           {"target_server_id": target.pk}, content_type="application/json")
    elapsed = time.perf_counter() - started

    assert response.status_code == 202, response.content
    assert elapsed < 0.2, f"the request took {elapsed:.3f} s: remote work inside it?"
    operation = Operation.objects.get(pk=response.json()["operation"]["id"])
    assert fleet.container(relay).status == "running"  # nothing moved inside the request
    workers.wait_until(lambda: _finished(operation), processes=[worker], timeout=90,
                       what="the move to finish")
    assert operation.state == OperationState.DONE, operation.error
    moved = DerpInstance.objects.get(user=user, status=InstanceStatus.RUNNING)
    assert moved.server_id == target.pk
    assert fleet.container(moved).status == "running"
    assert not fleet.containers(source_server)
