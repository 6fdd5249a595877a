"""A relay that cannot start: a transient failure with attempts left stays pending (the
provisioning operation tries again later); the final attempt, or a permanent failure, rolls
back: container removed, status error with the reason, an audit event, and the port free for
the next relay."""

from django.db import transaction
from django.utils import timezone, translation

from apps.audit.models import AuditEvent
from apps.containers import services
from apps.containers.models import DerpInstance, InstanceStatus
from apps.operations.models import Operation, OperationState
from apps.servers.drivers import RemoteError
from tests.containers.conftest import make_server
from tests.factories import UserFactory
from tests.operations.support import run_until_finished


def transient(message="connection reset"):
    return RemoteError(message, transient=True, code="unreachable")


def pending_relay(user, server):
    return services.create_instance(user=user, server=server, host_used=set())


def test_a_transient_failure_with_attempts_left_leaves_the_relay_pending(renter, fake_engine):
    instance = pending_relay(renter, make_server())
    fake_engine.fail_next.append(transient())

    assert services.start_instance(instance_id=instance.pk, final_attempt=False) is False

    instance.refresh_from_db()
    assert instance.status == InstanceStatus.PENDING
    assert instance.last_error == "connection reset" and instance.attempts == 1
    assert not AuditEvent.objects.filter(action="containers.provision_failed").exists()


def test_the_next_attempt_can_still_succeed(renter, fake_engine):
    instance = pending_relay(renter, make_server())
    fake_engine.fail_next.append(transient())
    services.start_instance(instance_id=instance.pk, final_attempt=False)

    assert services.start_instance(instance_id=instance.pk, final_attempt=True) is True

    instance.refresh_from_db()
    assert (instance.status, instance.attempts, instance.last_error) == (InstanceStatus.RUNNING, 2, "")


def test_the_final_attempt_rolls_back(renter, fake_engine):
    server = make_server()
    instance = pending_relay(renter, server)
    fake_engine.fail_next.append(transient("ssh cut"))

    assert services.start_instance(instance_id=instance.pk, final_attempt=True) is False

    instance.refresh_from_db()
    assert instance.status == InstanceStatus.ERROR
    assert instance.last_error == "ssh cut"
    assert ("remove", server.pk, instance.container_name) in fake_engine.calls
    assert fake_engine.on(server) == {}
    event = AuditEvent.objects.get(action="containers.provision_failed")
    assert event.details["error"] == "ssh cut"


def test_a_permanent_failure_rolls_back_at_once(renter, fake_engine):
    instance = pending_relay(renter, make_server())
    fake_engine.fail_next.append(RemoteError("no such image", transient=False))

    services.start_instance(instance_id=instance.pk, final_attempt=False)

    instance.refresh_from_db()
    assert instance.status == InstanceStatus.ERROR


def test_a_rolled_back_relays_port_goes_to_the_next_relay(renter, fake_engine):
    server = make_server()
    failed = pending_relay(renter, server)
    fake_engine.fail_next.append(transient())
    services.start_instance(instance_id=failed.pk, final_attempt=True)

    replacement = pending_relay(UserFactory(), server)

    assert replacement.port == failed.port


def test_the_user_is_told_in_plain_words_and_the_operator_gets_the_details(renter, fake_engine):
    instance = pending_relay(renter, make_server())
    fake_engine.fail_next.append(transient("paramiko.ssh_exception.SSHException: EOF"))
    services.start_instance(instance_id=instance.pk)

    instance.refresh_from_db()
    with translation.override("en"):
        message = services.user_message(instance)
    assert "could not be set up" in message and "paramiko" not in message
    assert "paramiko" in instance.last_error


def failing_on(fake_engine, monkeypatch, server, error):
    """run_relay fails on one server, works on the others."""
    real = fake_engine.run_relay

    def run_relay(instance):
        if instance.server_id == server.pk:
            raise error
        return real(instance)

    monkeypatch.setattr(fake_engine, "run_relay", run_relay)


def test_provisioning_leaves_a_transient_failure_pending_for_the_retry(renter, three_servers,
                                                                       fake_engine, monkeypatch):
    failing_on(fake_engine, monkeypatch, three_servers[1], transient())

    report = services.provision_rental(user_id=renter.pk, servers=3)

    flaky = DerpInstance.objects.get(user=renter, server=three_servers[1])
    assert len(report.created) == 2
    assert report.failed == [flaky.pk] and report.rolled_back == []
    assert flaky.status == InstanceStatus.PENDING


def test_provisioning_rolls_back_a_permanent_failure(renter, three_servers, fake_engine,
                                                     monkeypatch):
    failing_on(fake_engine, monkeypatch, three_servers[1], RemoteError("bad image", transient=False))

    report = services.provision_rental(user_id=renter.pk, servers=3)

    broken = DerpInstance.objects.get(user=renter, server=three_servers[1])
    assert report.failed == [] and report.rolled_back == [broken.pk]
    assert broken.status == InstanceStatus.ERROR


def provisioning(user, servers=1) -> Operation:
    """The provisioning operation, recorded as a paid activation records it."""
    with transaction.atomic():
        return services.request_provisioning(user=user, servers=servers)


def failing_times(fake_engine, monkeypatch, times: int):
    """run_relay fails transiently `times` times, then works."""
    real, failures = fake_engine.run_relay, iter(range(times))

    def run_relay(instance):
        if next(failures, None) is not None:
            raise transient(f"try {instance.attempts}")
        return real(instance)

    monkeypatch.setattr(fake_engine, "run_relay", run_relay)


def test_a_transient_start_failure_leaves_the_operation_queued_for_a_retry(
        renter, fake_engine, monkeypatch, run_operations):
    make_server()
    failing_times(fake_engine, monkeypatch, 1)
    operation = provisioning(renter)

    assert run_operations() == 1

    operation.refresh_from_db()
    assert operation.state == OperationState.QUEUED and operation.attempts == 1
    assert operation.not_before > timezone.now()  # later, not in a tight loop
    assert operation.error_code == "start_retrying"
    pending = DerpInstance.objects.get(user=renter)
    assert (pending.status, pending.last_error) == (InstanceStatus.PENDING, "try 1")
    assert run_operations() == 0  # nothing is due before not_before


def test_the_final_attempt_of_the_operation_rolls_back(renter, fake_engine, monkeypatch,
                                                       run_operations, time_machine):
    server = make_server()
    failing_times(fake_engine, monkeypatch, 100)
    operation = provisioning(renter)

    finished = run_until_finished(run_operations, time_machine, operation.pk)

    assert (finished.state, finished.error_code) == (OperationState.FAILED, "provision_incomplete")
    assert finished.attempts == finished.max_attempts
    instance = DerpInstance.objects.get(user=renter)
    assert instance.status == InstanceStatus.ERROR
    assert instance.attempts == finished.max_attempts
    assert instance.last_error == f"try {finished.max_attempts}"
    assert fake_engine.on(server) == {}
    assert AuditEvent.objects.filter(action="containers.provision_failed").count() == 1


def test_the_operation_stops_retrying_once_the_relay_starts(renter, fake_engine, monkeypatch,
                                                            run_operations, time_machine):
    make_server()
    failing_times(fake_engine, monkeypatch, 1)
    operation = provisioning(renter)

    finished = run_until_finished(run_operations, time_machine, operation.pk)

    assert (finished.state, finished.attempts, finished.error) == (OperationState.DONE, 2, "")
    instance = DerpInstance.objects.get(user=renter)
    assert finished.result["created"] == [instance.pk]
    assert (instance.status, instance.attempts) == (InstanceStatus.RUNNING, 2)
    assert DerpInstance.objects.filter(user=renter).count() == 1  # finished, not made twice
    time_machine.move_to(timezone.now() + timezone.timedelta(hours=1))
    assert run_operations() == 0


def test_a_relay_that_cannot_be_made_anywhere_fails_the_operation_at_once(
        renter, fake_engine, monkeypatch, run_operations):
    server = make_server()
    failing_on(fake_engine, monkeypatch, server, RemoteError("bad image", transient=False))
    operation = provisioning(renter)

    run_operations()

    operation.refresh_from_db()
    assert (operation.state, operation.attempts) == (OperationState.FAILED, 1)
    assert operation.error_code == "provision_incomplete"
    assert DerpInstance.objects.get(user=renter).status == InstanceStatus.ERROR


def test_the_final_attempt_puts_the_relay_on_the_next_server(renter, fake_engine, monkeypatch,
                                                             run_operations, time_machine):
    flaky, spare = make_server(name="flaky"), make_server(name="spare")
    failing_on(fake_engine, monkeypatch, flaky, transient())
    operation = provisioning(renter)

    finished = run_until_finished(run_operations, time_machine, operation.pk)

    assert finished.state == OperationState.DONE
    assert finished.attempts == finished.max_attempts
    given_up = DerpInstance.objects.get(user=renter, server=flaky)
    replacement = DerpInstance.objects.get(user=renter, server=spare)
    assert given_up.status == InstanceStatus.ERROR and replacement.status == InstanceStatus.RUNNING
    assert finished.result["rolled_back"] == [given_up.pk]
    assert finished.result["created"] == [replacement.pk]
