"""Probe rounds: a server turns unhealthy only after N failed probes in a row and healthy again
only after M good ones; statuses an operator or the quota set are never overwritten; relay,
certificate, disk, memory, latency and host-key alerts follow what the probes see; one server
that blows up or hangs costs the others nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.monitoring import health
from apps.monitoring.models import (
    Alert,
    AlertType,
    Metric,
    MonitoringSettings,
    RelayHealth,
    ServerHealth,
    Severity,
)
from apps.servers.models import ServerStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0)


def rounds(count: int, *, first: int = 0):
    """`count` probe rounds, two minutes apart (time is passed, not waited for)."""
    for n in range(first, first + count):
        health.probe_round(now=START + timedelta(minutes=2 * n))


def status_of(server) -> str:
    server.refresh_from_db()
    return server.status


def open_alerts(type=None, **about):
    alerts = Alert.objects.open()
    return list(alerts.filter(type=type, **about) if type else alerts)


@pytest.fixture
def thresholds(db):
    config = MonitoringSettings.current()
    config.failures_before_unhealthy, config.successes_before_healthy = 3, 2
    config.relay_failures_before_alert = 2
    config.save()
    return config


@pytest.fixture
def capacity_hook(monkeypatch):
    calls = []
    monkeypatch.setattr("apps.rentals.services.capacity_appeared", lambda: calls.append(1))
    return calls


def test_n_minus_one_failures_keep_a_server_healthy_the_nth_marks_it_unhealthy_once(
        make_server, fake_probes, thresholds):
    server, other = make_server("sh-1"), make_server("sh-2")
    fake_probes.down.add(server.pk)

    rounds(2)
    assert status_of(server) == ServerStatus.HEALTHY
    assert open_alerts(AlertType.SERVER_UNHEALTHY) == []

    rounds(1, first=2)
    assert status_of(server) == ServerStatus.UNHEALTHY
    state = ServerHealth.objects.get(server=server)
    assert state.failures == 3 and state.unhealthy_since == START + timedelta(minutes=4)
    assert "timed out" in state.last_error
    [alert] = open_alerts(AlertType.SERVER_UNHEALTHY)
    assert (alert.target_id, alert.severity) == (server.pk, Severity.CRITICAL)
    assert AuditEvent.objects.filter(action="servers.health_changed",
                                     target_id=str(server.pk)).count() == 1

    rounds(3, first=3)  # still failing: still one alert, one status change
    assert len(open_alerts(AlertType.SERVER_UNHEALTHY)) == 1
    assert AuditEvent.objects.filter(action="servers.health_changed").count() == 1
    assert ServerHealth.objects.get(server=server).unhealthy_since == START + timedelta(minutes=4)
    assert status_of(other) == ServerStatus.HEALTHY


def test_m_minus_one_successes_keep_it_unhealthy_the_mth_makes_it_healthy_and_resolves(
        make_server, fake_probes, thresholds, capacity_hook):
    server = make_server("sh-1")
    fake_probes.down.add(server.pk)
    rounds(3)
    assert status_of(server) == ServerStatus.UNHEALTHY
    fake_probes.down.clear()

    rounds(1, first=3)
    assert status_of(server) == ServerStatus.UNHEALTHY
    assert len(open_alerts(AlertType.SERVER_UNHEALTHY)) == 1
    assert capacity_hook == []

    rounds(1, first=4)
    assert status_of(server) == ServerStatus.HEALTHY
    assert open_alerts(AlertType.SERVER_UNHEALTHY) == []
    assert Alert.objects.get(type=AlertType.SERVER_UNHEALTHY).resolved_at is not None
    state = ServerHealth.objects.get(server=server)
    assert state.unhealthy_since is None and state.successes == 2
    assert state.last_unhealthy_at == START + timedelta(minutes=8)
    assert capacity_hook == [1]  # customers short of relays are tried again


def test_one_good_probe_in_between_starts_the_count_again(make_server, fake_probes, thresholds):
    server = make_server("sh-1")
    fake_probes.down.add(server.pk)
    rounds(2)
    fake_probes.down.clear()
    rounds(1, first=2)
    fake_probes.down.add(server.pk)
    rounds(2, first=3)

    assert status_of(server) == ServerStatus.HEALTHY


@pytest.mark.parametrize("status", [ServerStatus.MAINTENANCE, ServerStatus.DRAINING,
                                    ServerStatus.OVER_QUOTA])
def test_statuses_set_by_operators_or_the_quota_are_never_overwritten(
        make_server, fake_probes, thresholds, status):
    failing, answering = make_server("down", status=status), make_server("up", status=status)
    fake_probes.down.add(failing.pk)

    rounds(6)

    assert status_of(failing) == status and status_of(answering) == status
    assert open_alerts(AlertType.SERVER_UNHEALTHY) == []
    assert ServerHealth.objects.get(server=failing).failures == 6  # still watched


def test_a_server_set_unhealthy_by_hand_is_not_made_healthy_by_the_probe(
        make_server, fake_probes, thresholds):
    server = make_server("sh-1", status=ServerStatus.UNHEALTHY)

    rounds(5)

    assert status_of(server) == ServerStatus.UNHEALTHY


def test_servers_being_set_up_are_not_probed(make_server, fake_probes, thresholds):
    make_server("new", status=ServerStatus.SETTING_UP)

    report = health.probe_round(now=START)

    assert report.servers == [] and fake_probes.targets == {}


def test_a_server_whose_probe_raises_or_hangs_does_not_cost_the_others(
        make_server, fake_probes, thresholds, settings):
    settings.MONITORING_PROBE_TIMEOUT = 0.5
    broken, hung, fine = make_server("broken"), make_server("hung"), make_server("fine")
    fake_probes.raising.add(broken.pk)
    fake_probes.hanging.add(hung.pk)

    report = health.probe_round(now=START)
    fake_probes.release.set()

    results = {server.pk: probe for server, probe in report.servers}
    assert results[fine.pk].ok
    assert not results[broken.pk].ok and "blew up" in results[broken.pk].error
    assert not results[hung.pk].ok and results[hung.pk].error_code == "timeout"
    assert ServerHealth.objects.get(server=fine).latest[Metric.LOAD1] == 0.25
    assert ServerHealth.objects.get(server=hung).failures == 1
    assert ServerHealth.objects.get(server=broken).failures == 1


def test_with_no_targets_configured_each_server_pings_the_next_others(make_server, fake_probes,
                                                                      thresholds, settings):
    settings.MONITORING_MAX_PING_TARGETS = 2
    servers = [make_server(f"s{n}") for n in range(4)]

    health.probe_round(now=START)

    assert fake_probes.targets[servers[0].pk] == [servers[1].public_ip, servers[2].public_ip]
    assert fake_probes.targets[servers[3].pk] == [servers[0].public_ip, servers[1].public_ip]
    thresholds.probe_targets = "1.1.1.1\n  \nexample.com\n"
    thresholds.save()
    health.probe_round(now=START)
    assert fake_probes.targets[servers[0].pk] == ["1.1.1.1", "example.com"]


# --- Relays ---------------------------------------------------------------------------------

@pytest.fixture
def relay(make_server, place_relay):
    server = make_server("sh-1", cert_fingerprint="ab" * 32)
    return place_relay(UserFactory(), server, port=30000)


def test_a_relay_is_unreachable_after_n_failed_probes_and_resolves_on_the_first_good_one(
        relay, fake_probes, thresholds):
    fake_probes.relays_down.add(relay.port)

    rounds(1)
    assert open_alerts(AlertType.RELAY_UNREACHABLE) == []
    rounds(1, first=1)
    [alert] = open_alerts(AlertType.RELAY_UNREACHABLE)
    assert alert.target_id == relay.pk and "refused" in alert.message
    assert RelayHealth.objects.get(instance=relay).latest[Metric.REACHABLE] == 0

    fake_probes.relays_down.clear()
    rounds(1, first=2)
    assert open_alerts(AlertType.RELAY_UNREACHABLE) == []
    assert RelayHealth.objects.get(instance=relay).latest[Metric.TLS_MS] == 4.0
    assert status_of(relay.server) == ServerStatus.HEALTHY  # relay failures are the relay's


def test_a_relay_presenting_another_certificate_raises_a_critical_alert_at_once(
        relay, fake_probes, thresholds):
    fake_probes.wrong_cert.add(relay.port)

    rounds(1)

    [alert] = open_alerts(AlertType.CERT_MISMATCH)
    assert (alert.target_id, alert.severity) == (relay.pk, Severity.CRITICAL)
    assert "pinned" in alert.message
    fake_probes.wrong_cert.clear()
    rounds(1, first=1)
    assert open_alerts(AlertType.CERT_MISMATCH) == []


def test_a_slow_relay_raises_a_latency_alert(relay, fake_probes, thresholds):
    fake_probes.slow_relays[relay.port] = thresholds.latency_warning_ms + 1

    rounds(1)

    [alert] = open_alerts(AlertType.LATENCY_HIGH)
    assert alert.target_id == relay.pk
    fake_probes.slow_relays.clear()
    rounds(1, first=1)
    assert open_alerts(AlertType.LATENCY_HIGH) == []


# --- Server figures -------------------------------------------------------------------------

def test_disk_and_memory_above_their_thresholds_raise_alerts_that_clear(make_server, fake_probes,
                                                                        thresholds):
    server = make_server("sh-1")
    fake_probes.figures[server.pk] = {Metric.DISK_PERCENT: 95.0, Metric.MEM_PERCENT: 91.5}

    rounds(1)
    assert {a.type for a in open_alerts()} == {AlertType.DISK_HIGH, AlertType.MEMORY_HIGH}
    assert "95" in open_alerts(AlertType.DISK_HIGH)[0].message

    fake_probes.figures[server.pk] = {Metric.DISK_PERCENT: 90.0}  # at the threshold: fine
    rounds(1, first=1)
    assert open_alerts() == []


def test_a_slow_ping_target_raises_a_latency_alert_on_the_server(make_server, fake_probes,
                                                                 thresholds):
    server = make_server("sh-1")
    fake_probes.pings[server.pk] = {"10.0.0.1": (3.0, 0.0), "10.0.0.2": (900.0, 0.0)}

    rounds(1)

    [alert] = open_alerts(AlertType.LATENCY_HIGH)
    assert alert.target_id == server.pk and "10.0.0.2" in alert.message


def test_a_changed_host_key_raises_a_critical_alert_that_a_good_probe_resolves(
        make_server, fake_probes, thresholds):
    server = make_server("sh-1")
    fake_probes.host_key_changed.add(server.pk)

    rounds(1)
    [alert] = open_alerts(AlertType.HOST_KEY_CHANGED)
    assert alert.severity == Severity.CRITICAL and "host key" in alert.message

    fake_probes.host_key_changed.clear()  # re-pinned by an admin
    rounds(1, first=1)
    assert open_alerts(AlertType.HOST_KEY_CHANGED) == []


def test_check_now_is_the_full_probe_recorded_with_every_figure(relay, make_server, fake_probes,
                                                                thresholds):
    other = make_server("not-asked")

    [result] = health.check_now(server_ids=[relay.server_id])

    assert (result["id"], result["ok"], result["status"]) == (relay.server_id, True, "healthy")
    assert result["engine_version"] == "fake-1.0" and result["ssh_ms"] == 12.5
    assert (result[Metric.LOAD1], result[Metric.MEM_PERCENT], result[Metric.DISK_PERCENT],
            result[Metric.UPTIME], result[Metric.ENGINE_OK]) == (0.25, 40.0, 50.0, 86400.0, 1)
    [seen] = result["relays"]
    assert (seen["id"], seen["reachable"], seen[Metric.TLS_MS], seen[Metric.STUN_MS]) == (
        relay.pk, True, 4.0, 1.5)
    assert ServerHealth.objects.get(server_id=relay.server_id).successes == 1
    assert not ServerHealth.objects.filter(server=other).exists()
