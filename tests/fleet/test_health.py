"""Fleet health on real servers (sshd + podman + the real derper): a stopped relay is reported
unreachable after N probe rounds and cleared once it runs again; a server whose SSH is cut turns
unhealthy only after N failed rounds and, once unhealthy long enough, its relays move to the
other servers; a relay whose certificate is not the pinned one raises the mismatch alert."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.containers.models import DerpInstance, InstanceStatus
from apps.containers.services import provision_rental
from apps.monitoring import health
from apps.monitoring.models import (
    Alert,
    AlertType,
    Metric,
    MonitoringSettings,
    RelayHealth,
    ServerHealth,
)
from apps.operations import services as operations
from apps.servers.models import ServerStatus
from tests.fleet import infra
from tests.fleet.support import relay_answers, renter

pytestmark = pytest.mark.django_db(transaction=True)

START = timezone.now().replace(microsecond=0)


@pytest.fixture
def config(fleet_settings):
    config = MonitoringSettings.current()
    config.failures_before_unhealthy, config.successes_before_healthy = 3, 2
    config.relay_failures_before_alert = 2
    config.failover_after_minutes, config.failover_cooldown_minutes = 10, 60
    config.save()
    return config


def running_relay(server):
    user = renter()
    provision_rental(user_id=user.pk, servers=1, pinned_ids=[server.pk])
    instance = DerpInstance.objects.select_related("server", "user").get(
        user=user, status=InstanceStatus.RUNNING)
    assert instance.server_id == server.pk
    infra.wait_for(lambda: relay_answers(server, instance.port), timeout=30,
                   what="the relay's /generate_204")
    return instance


def round_at(minute: int, **kwargs):
    return health.probe_round(now=START + timedelta(minutes=minute), **kwargs)


def open_alert(type, target_id):
    return Alert.objects.open().filter(type=type, target_id=target_id).first()


def test_a_real_probe_reads_the_server_and_checks_the_relay_as_a_client_would(fleet, config):
    server = fleet.add_one()
    relay = running_relay(server)

    report = round_at(0)

    [(probed, result)] = report.servers
    assert probed.pk == server.pk
    assert result.ok, result.error
    assert result.figures[Metric.ENGINE_OK] == 1 and result.figures[Metric.CPUS] >= 1
    assert {Metric.LOAD1, Metric.MEM_PERCENT, Metric.DISK_PERCENT, Metric.UPTIME,
            Metric.SSH_MS} <= set(result.figures)
    [(instance, seen)] = report.relays
    assert instance.pk == relay.pk and seen.reachable, seen.error
    assert {Metric.TCP_MS, Metric.TLS_MS, Metric.HTTP_MS, Metric.STUN_MS} <= set(seen.figures)
    assert RelayHealth.objects.get(instance=relay).latest[Metric.REACHABLE] == 1


def test_a_stopped_relay_is_unreachable_after_n_rounds_and_clears_once_restarted(fleet, config):
    server = fleet.add_one()
    relay = running_relay(server)
    container = fleet.container(relay)
    container.stop(timeout=1)  # behind the panel's back: the database still says running

    round_at(0)
    assert open_alert(AlertType.RELAY_UNREACHABLE, relay.pk) is None
    round_at(2)
    alert = open_alert(AlertType.RELAY_UNREACHABLE, relay.pk)
    assert alert is not None and str(relay.port) in alert.message

    container.start()
    infra.wait_for(lambda: relay_answers(server, relay.port), timeout=15, what="the relay again")
    round_at(4)
    assert open_alert(AlertType.RELAY_UNREACHABLE, relay.pk) is None
    assert Alert.objects.get(type=AlertType.RELAY_UNREACHABLE).resolved_at is not None
    server.refresh_from_db()
    assert server.status == ServerStatus.HEALTHY


def test_a_relay_not_presenting_the_pinned_certificate_raises_the_mismatch_alert(fleet, config):
    server = fleet.add_one()
    relay = running_relay(server)
    pinned = server.cert_fingerprint
    type(server).objects.filter(pk=server.pk).update(cert_fingerprint="0" * 64)

    round_at(0)

    alert = open_alert(AlertType.CERT_MISMATCH, relay.pk)
    assert alert is not None and alert.severity == "critical" and pinned in alert.message
    type(server).objects.filter(pk=server.pk).update(cert_fingerprint=pinned)
    round_at(2)
    assert open_alert(AlertType.CERT_MISMATCH, relay.pk) is None


def test_a_server_cut_off_turns_unhealthy_after_n_rounds_and_its_relays_move(fleet, config):
    cut, *others = fleet.add(3)
    relays = [running_relay(cut), running_relay(cut)]
    fleet.sshd(cut).stop()

    round_at(0)
    round_at(2)
    cut.refresh_from_db()
    assert cut.status == ServerStatus.HEALTHY  # two lost probes are not an outage
    round_at(4)
    cut.refresh_from_db()
    assert cut.status == ServerStatus.UNHEALTHY
    assert open_alert(AlertType.SERVER_UNHEALTHY, cut.pk) is not None
    assert "unreachable" in ServerHealth.objects.get(server=cut).last_error

    assert health.fail_over_due(now=START + timedelta(minutes=4 + 9)) == []
    assert len(health.fail_over_due(now=START + timedelta(minutes=4 + 10))) == 1
    operations.run_due()

    for relay in relays:
        moved = DerpInstance.objects.select_related("server").get(
            user=relay.user, status=InstanceStatus.RUNNING)
        assert moved.server_id in {s.pk for s in others}
        assert infra.wait_for(lambda m=moved: relay_answers(m.server, m.port), timeout=15,
                              what="the moved relay")
    health.fail_over_due(now=START + timedelta(minutes=15))
    alert = Alert.objects.get(type=AlertType.FAILOVER, target_id=cut.pk)
    assert alert.details["moved"] == 2 and alert.resolved_at is not None
