"""Migration is make-before-break: the relay starts on the target before the source goes; if
the target fails or no server can take it, the source keeps running untouched."""

import pytest

from apps.audit.models import AuditEvent
from apps.containers import requests, services
from apps.containers.models import DerpInstance, InstanceStatus
from apps.notifications.models import OutboundEmail
from apps.operations.models import OperationState
from apps.servers.drivers import RemoteError
from apps.servers.models import ServerStatus
from derpmgr.errors import Conflict, ServiceError
from tests.containers.conftest import make_server, relay
from tests.factories import UserFactory
from tests.operations.support import run_until_finished


@pytest.fixture
def source(renter, fake_engine):
    return relay(renter, make_server(name="old"), engine=fake_engine)


def test_the_relay_starts_on_the_target_before_the_source_is_removed(source, fake_engine, admin_user):
    target = make_server(name="new")

    moved = services.migrate_instance(actor=admin_user, instance=source, target=target)

    assert moved.server == target and moved.status == InstanceStatus.RUNNING
    assert moved.replaces_id == source.pk
    calls = [(op, server_id) for op, server_id, _name in fake_engine.calls]
    assert calls.index(("run_relay", target.pk)) < calls.index(("remove", source.server_id))
    source.refresh_from_db()
    assert source.status == InstanceStatus.REMOVED
    assert fake_engine.on(source.server) == {} and len(fake_engine.on(target)) == 1


def test_a_move_is_audited_and_the_user_is_told(source, fake_engine, admin_user):
    moved = services.migrate_instance(actor=admin_user, instance=source, target=make_server())
    event = AuditEvent.objects.get(action="containers.migrated")
    assert event.details["old_instance"] == source.pk and event.details["new_port"] == moved.port
    assert OutboundEmail.objects.filter(to=source.user.email, template="relay-moved").exists()


def test_without_a_target_the_least_loaded_server_takes_it(source, fake_engine, admin_user):
    busy = make_server(name="busy", max_containers=2)
    relay(UserFactory(), busy)
    quiet = make_server(name="quiet", max_containers=2)
    moved = services.migrate_instance(actor=admin_user, instance=source)
    assert moved.server == quiet


def test_a_failure_on_the_target_leaves_the_source_running_untouched(source, fake_engine, admin_user,
                                                                     monkeypatch):
    target = make_server(name="new")

    def run_relay(instance):
        fake_engine.calls.append(("run_relay", instance.server_id, instance.container_name))
        raise RemoteError("image pull failed", transient=True)

    monkeypatch.setattr(fake_engine, "run_relay", run_relay)

    with pytest.raises(ServiceError) as refused:
        services.migrate_instance(actor=admin_user, instance=source, target=target)

    assert refused.value.code == "migration_failed" and refused.value.status == 502
    source.refresh_from_db()
    assert source.status == InstanceStatus.RUNNING
    assert all(server_id != source.server_id for _op, server_id, _n in fake_engine.calls)
    assert fake_engine.on(source.server)[source.container_name]["running"]
    replacement = DerpInstance.objects.get(replaces=source)
    assert replacement.status == InstanceStatus.ERROR
    assert replacement.last_error == "image pull failed"


def test_a_target_that_does_not_answer_leaves_the_source_untouched(source, fake_engine, admin_user):
    target = make_server(name="new")
    fake_engine.down.add(target.pk)
    with pytest.raises(RemoteError) as failed:
        services.migrate_instance(actor=admin_user, instance=source, target=target)
    assert failed.value.transient  # the operation moving it tries again later
    source.refresh_from_db()
    assert source.status == InstanceStatus.RUNNING and source.status_before_move == ""
    assert not DerpInstance.objects.filter(server=target).exists()


def test_a_move_that_is_given_up_puts_the_source_back(source, fake_engine, admin_user,
                                                      run_operations, time_machine, monkeypatch):
    target = make_server(name="new")

    def run_relay(instance):
        raise RemoteError("image pull timed out", transient=True)

    monkeypatch.setattr(fake_engine, "run_relay", run_relay)
    operation = requests.migrate(actor=admin_user, instance=source, target=target)

    run_operations()
    source.refresh_from_db()
    assert source.status == InstanceStatus.MIGRATING  # between attempts, the move is under way
    finished = run_until_finished(run_operations, time_machine, operation.pk)

    assert finished.error_code == "migration_failed" and "image pull timed out" in finished.error
    assert finished.state == OperationState.FAILED and finished.attempts == finished.max_attempts
    source.refresh_from_db()
    assert source.status == InstanceStatus.RUNNING
    assert fake_engine.on(source.server)[source.container_name]["running"]
    replacement = DerpInstance.objects.get(replaces=source)
    assert replacement.status == InstanceStatus.ERROR and replacement.server == target


def test_no_server_with_room_is_refused_and_the_source_untouched(source, fake_engine, admin_user):
    make_server(name="sick", status=ServerStatus.UNHEALTHY)
    with pytest.raises(services.NoCapacity):
        services.migrate_instance(actor=admin_user, instance=source)
    source.refresh_from_db()
    assert source.status == InstanceStatus.RUNNING and fake_engine.calls == []


def test_a_full_target_is_refused_and_the_source_untouched(source, fake_engine, admin_user):
    full = make_server(name="full", max_containers=1)
    relay(UserFactory(), full)
    with pytest.raises(services.NoCapacity) as refused:
        services.migrate_instance(actor=admin_user, instance=source, target=full)
    assert refused.value.status == 409
    source.refresh_from_db()
    assert source.status == InstanceStatus.RUNNING and fake_engine.calls == []


def test_an_unhealthy_target_is_refused(source, fake_engine, admin_user):
    sick = make_server(name="sick", status=ServerStatus.UNHEALTHY)
    with pytest.raises(services.NoCapacity):
        services.migrate_instance(actor=admin_user, instance=source, target=sick)
    assert not DerpInstance.objects.filter(server=sick).exists()


def test_a_relay_already_on_the_target_is_refused(source, fake_engine, admin_user):
    with pytest.raises(ServiceError) as refused:
        services.migrate_instance(actor=admin_user, instance=source, target=source.server)
    assert refused.value.code == "same_server"


def test_only_running_or_stopped_relays_move(renter, fake_engine, admin_user):
    pending = relay(renter, make_server(), status=InstanceStatus.PENDING)
    make_server()
    with pytest.raises(Conflict):
        services.migrate_instance(actor=admin_user, instance=pending)


def test_a_stopped_relay_arrives_stopped(renter, fake_engine, admin_user):
    stopped = relay(renter, make_server(), status=InstanceStatus.STOPPED, engine=fake_engine)
    moved = services.migrate_instance(actor=admin_user, instance=stopped, target=make_server())
    moved.refresh_from_db()
    assert moved.status == InstanceStatus.STOPPED
    assert not fake_engine.on(moved.server)[moved.container_name]["running"]
