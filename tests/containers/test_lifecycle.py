"""Stop, start, restart and remove: each moves the relay and its container together, is
idempotent (asked again, a relay already there stays so), refuses a relay in a state it cannot
leave that way (Conflict), and lets a server that does not answer go up as a RemoteError: the
operation running it tries again later."""

import pytest

from apps.audit.models import AuditEvent
from apps.containers import requests, services
from apps.containers.models import InstanceStatus
from apps.operations.models import Operation, OperationKind, OperationState
from apps.servers.drivers import RemoteError
from derpmgr.errors import Conflict
from tests.containers.conftest import make_server, relay


@pytest.fixture
def server(db):
    return make_server()


def running_container(engine, instance) -> bool:
    return engine.on(instance.server)[instance.container_name]["running"]


def test_stop_stops_the_container_and_keeps_the_port(renter, server, fake_engine, admin_user):
    instance = relay(renter, server, engine=fake_engine)
    stopped = services.stop_instance(actor=admin_user, instance=instance)
    assert stopped.status == InstanceStatus.STOPPED and stopped.stopped_at
    assert not running_container(fake_engine, instance)
    assert stopped.is_live  # the port stays reserved
    assert AuditEvent.objects.filter(action="containers.stopped", actor=admin_user).exists()


def test_start_starts_a_stopped_relay(renter, server, fake_engine, admin_user):
    instance = relay(renter, server, status=InstanceStatus.STOPPED, engine=fake_engine)
    started = services.start_stopped_instance(actor=admin_user, instance=instance)
    assert started.status == InstanceStatus.RUNNING
    assert running_container(fake_engine, instance)


def test_restart_stops_then_starts(renter, server, fake_engine, admin_user):
    instance = relay(renter, server, engine=fake_engine)
    restarted = services.restart_instance(actor=admin_user, instance=instance)
    assert restarted.status == InstanceStatus.RUNNING
    assert [c[0] for c in fake_engine.calls] == ["stop", "start"]


def test_restart_starts_a_stopped_relay(renter, server, fake_engine, admin_user):
    instance = relay(renter, server, status=InstanceStatus.STOPPED, engine=fake_engine)
    assert services.restart_instance(actor=admin_user, instance=instance).status == "running"


def test_remove_takes_the_container_down_and_frees_the_port(renter, server, fake_engine, admin_user):
    instance = relay(renter, server, engine=fake_engine)
    removed = services.remove_instance(actor=admin_user, instance=instance)
    assert removed.status == InstanceStatus.REMOVED and not removed.is_live
    assert fake_engine.on(server) == {}
    assert services.create_instance(user=renter, server=server, host_used=set()).port == instance.port


def test_a_failed_relay_can_be_removed(renter, server, fake_engine, admin_user):
    instance = relay(renter, server, status=InstanceStatus.ERROR)
    assert services.remove_instance(actor=admin_user, instance=instance).status == "removed"


@pytest.mark.parametrize(("operation", "refused_from"), [
    (services.stop_instance, ["pending", "error", "removed", "migrating"]),
    (services.start_stopped_instance, ["pending", "error", "removed", "migrating"]),
])
def test_an_operation_refuses_a_relay_in_the_wrong_state(renter, server, fake_engine, admin_user,
                                                         operation, refused_from):
    for status in refused_from:
        instance = relay(renter, server, status=status)
        with pytest.raises(Conflict):
            operation(actor=admin_user, instance=instance)
        assert instance.__class__.objects.get(pk=instance.pk).status == status
        instance.delete()
    assert fake_engine.calls == []


@pytest.mark.parametrize(("operation", "already"), [
    (services.stop_instance, InstanceStatus.STOPPED),
    (services.start_stopped_instance, InstanceStatus.RUNNING),
    (services.remove_instance, InstanceStatus.REMOVED),
])
def test_asking_again_for_what_is_done_is_a_no_op(renter, server, fake_engine, admin_user,
                                                  operation, already):
    instance = relay(renter, server, status=already)

    assert operation(actor=admin_user, instance=instance).status == already

    assert fake_engine.calls == []
    assert not AuditEvent.objects.filter(action__startswith="containers.").exists()


def test_stop_on_a_server_that_does_not_answer_changes_nothing(renter, server, fake_engine,
                                                               admin_user):
    instance = relay(renter, server, engine=fake_engine)
    fake_engine.down.add(server.pk)
    with pytest.raises(RemoteError) as failed:
        services.stop_instance(actor=admin_user, instance=instance)
    assert failed.value.transient  # the operation tries again
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING
    server.refresh_from_db()
    assert "unreachable" in server.last_error


def test_a_stop_operation_retries_until_the_server_answers(renter, server, fake_engine,
                                                           admin_user, run_operations,
                                                           time_machine):
    instance = relay(renter, server, engine=fake_engine)
    fake_engine.down.add(server.pk)
    operation = requests.relay_action(OperationKind.STOP, actor=admin_user, instance=instance)

    run_operations()
    operation.refresh_from_db()
    assert (operation.state, operation.attempts) == (OperationState.QUEUED, 1)
    assert "unreachable" in operation.error
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING

    fake_engine.down.clear()
    time_machine.move_to(operation.not_before)
    run_operations()

    operation.refresh_from_db()
    assert (operation.state, operation.attempts) == (OperationState.DONE, 2)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.STOPPED
    assert Operation.objects.count() == 1


def test_remove_on_a_server_that_does_not_answer_is_finished_when_asked_again(
        renter, server, fake_engine, admin_user):
    instance = relay(renter, server, engine=fake_engine)
    fake_engine.down.add(server.pk)
    with pytest.raises(RemoteError):
        services.remove_instance(actor=admin_user, instance=instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.REMOVING and "unreachable" in instance.last_error

    fake_engine.down.clear()
    removed = services.remove_instance(actor=admin_user, instance=instance)

    assert removed.status == InstanceStatus.REMOVED and fake_engine.on(server) == {}


def test_remove_on_a_server_that_does_not_answer_is_finished_by_reconcile(renter, server,
                                                                          fake_engine, admin_user):
    instance = relay(renter, server, engine=fake_engine)
    fake_engine.down.add(server.pk)
    with pytest.raises(RemoteError):
        services.remove_instance(actor=admin_user, instance=instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.REMOVING

    fake_engine.down.clear()
    report = services.reconcile_server(server=server)

    instance.refresh_from_db()
    assert instance.status == InstanceStatus.REMOVED
    assert report.finished_removals == [instance.pk] and fake_engine.on(server) == {}
