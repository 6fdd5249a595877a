"""A server the probe has seen unhealthy for longer than the settings allow has its relays moved
(make-before-break) to healthy servers that were not themselves unhealthy lately; not before
the delay, and not again within the cool-down, so a flapping server causes no ping-pong."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.containers.models import DerpInstance, InstanceStatus
from apps.monitoring import health
from apps.monitoring.models import Alert, AlertType, MonitoringSettings, ServerHealth, Severity
from apps.operations.models import Operation, OperationKind
from apps.servers.models import ServerStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0)


def minutes(n: float):
    return START + timedelta(minutes=n)


@pytest.fixture
def config(db):
    config = MonitoringSettings.current()
    config.failures_before_unhealthy, config.successes_before_healthy = 3, 2
    config.failover_after_minutes, config.failover_cooldown_minutes = 10, 60
    config.save()
    return config


@pytest.fixture
def sick(make_server, place_relay, fake_engine, fake_probes, config):
    """A server with two relays, marked unhealthy by three failed rounds (at 0, 2 and 4 min)."""
    server = make_server("sick")
    relays = [place_relay(UserFactory(), server, port=30000 + n, engine=fake_engine)
              for n in range(2)]
    fake_probes.down.add(server.pk)
    for n in range(3):
        health.probe_round(now=minutes(2 * n), server_ids=[server.pk])
    server.refresh_from_db()
    assert server.status == ServerStatus.UNHEALTHY
    server.relays = relays
    return server


def live_servers(relays) -> set[int]:
    return {DerpInstance.objects.get(user=relay.user, status=InstanceStatus.RUNNING).server_id
            for relay in relays}


def test_nothing_moves_before_the_delay_then_a_drain_is_recorded_with_an_alert(sick, make_server):
    make_server("good")

    assert health.fail_over_due(now=minutes(4 + 9)) == []
    assert not Operation.objects.exists()

    [operation_id] = health.fail_over_due(now=minutes(4 + 10))

    operation = Operation.objects.get(pk=operation_id)
    assert (operation.kind, operation.server_id) == (OperationKind.DRAIN, sick.pk)
    assert operation.args["status"] == ServerStatus.UNHEALTHY
    assert operation.dedupe_key == f"failover:server:{sick.pk}"
    assert ServerHealth.objects.get(server=sick).last_failover_at == minutes(14)
    [alert] = Alert.objects.open().filter(type=AlertType.FAILOVER)
    assert alert.target_id == sick.pk and alert.severity == Severity.WARNING
    assert alert.details == {"operation": operation.pk, "relays": 2}


def test_the_relays_move_to_healthy_servers_and_the_alert_says_how_it_went(
        sick, make_server, run_operations):
    good = make_server("good")

    health.fail_over_due(now=minutes(20))
    run_operations()

    assert live_servers(sick.relays) == {good.pk}
    sick.refresh_from_db()
    assert sick.status == ServerStatus.UNHEALTHY  # still; it comes back by its probes
    health.fail_over_due(now=minutes(22))
    alert = Alert.objects.get(type=AlertType.FAILOVER)
    assert alert.resolved_at is not None
    assert (alert.details["moved"], alert.details["failed"]) == (2, {})


def test_targets_avoid_servers_that_were_unhealthy_within_the_cool_down(
        sick, make_server, place_relay, fake_engine, run_operations):
    flapper, steady = make_server("flapper"), make_server("steady")
    place_relay(UserFactory(), steady, port=30000, engine=fake_engine)  # steady is busier
    ServerHealth.objects.create(server=flapper, last_unhealthy_at=minutes(-30))

    health.fail_over_due(now=minutes(20))
    run_operations()

    assert live_servers(sick.relays) == {steady.pk}


def test_a_server_is_not_failed_over_again_within_the_cool_down(sick, make_server, fake_engine,
                                                                run_operations, config):
    make_server("good")
    health.fail_over_due(now=minutes(20))
    run_operations()
    fake_engine.calls.clear()
    back = [DerpInstance.objects.create(user=UserFactory(), server=sick, port=30010,
                                        status=InstanceStatus.RUNNING)]  # placed by hand since

    assert health.fail_over_due(now=minutes(20 + 59)) == []
    assert health.fail_over_due(now=minutes(20 + 61)) != []
    run_operations()
    assert live_servers(back) != {sick.pk}


def test_a_server_that_recovers_before_the_delay_is_not_failed_over(sick, make_server,
                                                                    fake_probes):
    make_server("good")
    fake_probes.down.clear()
    health.probe_round(now=minutes(6), server_ids=[sick.pk])
    health.probe_round(now=minutes(8), server_ids=[sick.pk])
    sick.refresh_from_db()
    assert sick.status == ServerStatus.HEALTHY

    fake_probes.down.add(sick.pk)  # it flaps: down again, but only just
    for n in range(3):
        health.probe_round(now=minutes(10 + 2 * n), server_ids=[sick.pk])

    assert health.fail_over_due(now=minutes(20)) == []  # unhealthy since 14 min, not 4
    assert health.fail_over_due(now=minutes(24)) != []


def test_servers_an_operator_put_in_maintenance_or_without_relays_are_left_alone(
        sick, make_server, config):
    DerpInstance.objects.filter(server=sick).update(status=InstanceStatus.REMOVED)
    assert health.fail_over_due(now=minutes(30)) == []

    empty_relays_back = DerpInstance.objects.filter(server=sick)
    empty_relays_back.update(status=InstanceStatus.RUNNING)
    sick.status = ServerStatus.MAINTENANCE
    sick.save(update_fields=["status"])
    assert health.fail_over_due(now=minutes(30)) == []
    assert not Operation.objects.exists()
