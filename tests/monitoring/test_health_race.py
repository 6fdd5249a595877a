"""Probe rounds that run at once (a slow round overlapping the next, two beats) open each alert
once and change a server's status once (PostgreSQL)."""

import pytest

from apps.audit.models import AuditEvent
from apps.monitoring import health
from apps.monitoring.models import Alert, AlertType, Metric, MonitoringSettings
from apps.servers.models import ServerStatus
from tests.commerce.races import run_together
from tests.factories import UserFactory


@pytest.mark.postgres
def test_concurrent_probe_rounds_never_duplicate_alerts(transactional_db, make_server,
                                                        place_relay, fake_probes):
    config = MonitoringSettings.current()
    config.failures_before_unhealthy = config.relay_failures_before_alert = 1
    config.save()
    down, full = make_server("down"), make_server("full")
    unreachable = place_relay(UserFactory(), full, port=30000)
    mismatched = place_relay(UserFactory(), full, port=30001)
    fake_probes.down.add(down.pk)
    fake_probes.figures[full.pk] = {Metric.DISK_PERCENT: 99.0}
    fake_probes.relays_down.add(unreachable.port)
    fake_probes.wrong_cert.add(mismatched.port)

    outcomes, unexpected = run_together(8, lambda n: health.probe_round())

    assert unexpected == [] and outcomes == ["ok"] * 8
    opened = sorted((a.type, a.target_id) for a in Alert.objects.all())
    assert opened == sorted([(AlertType.SERVER_UNHEALTHY, down.pk), (AlertType.DISK_HIGH, full.pk),
                             (AlertType.RELAY_UNREACHABLE, unreachable.pk),
                             (AlertType.CERT_MISMATCH, mismatched.pk)])
    assert AuditEvent.objects.filter(action="monitoring.alert_opened").count() == 4
    assert AuditEvent.objects.filter(action="servers.health_changed").count() == 1
    down.refresh_from_db()
    assert down.status == ServerStatus.UNHEALTHY
