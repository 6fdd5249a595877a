"""A relay that cannot start: a transient failure with attempts left stays pending (the task
retries it); the final attempt, or a permanent failure, rolls back: container removed, status
error with the reason, an audit event, and the port free for the next relay."""

from apps.audit.models import AuditEvent
from apps.containers import services, tasks
from apps.containers.models import DerpInstance, InstanceStatus
from apps.servers.drivers import RemoteError
from tests.containers.conftest import make_server
from tests.factories import UserFactory


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


def test_the_start_task_retries_a_transient_failure_then_rolls_back(renter, fake_engine, settings):
    instance = pending_relay(renter, make_server())
    fake_engine.fail_next.extend(transient(f"try {n}") for n in range(10))

    tasks.start_instance.apply((instance.pk,))  # eager: each retry runs at once

    instance.refresh_from_db()
    assert instance.attempts == tasks.start_instance.max_retries + 1
    assert instance.status == InstanceStatus.ERROR and instance.last_error.startswith("try ")


def test_the_start_task_stops_retrying_once_it_works(renter, fake_engine):
    instance = pending_relay(renter, make_server())
    fake_engine.fail_next.append(transient())

    tasks.start_instance.apply((instance.pk,))

    instance.refresh_from_db()
    assert (instance.status, instance.attempts) == (InstanceStatus.RUNNING, 2)
