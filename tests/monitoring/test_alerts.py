"""An alert is opened once per (type, target) while its condition lasts, resolves when it
clears, and an operator acknowledges it with a note."""

import pytest

from apps.audit.models import AuditEvent
from apps.monitoring import services as alerts
from apps.monitoring.models import Alert, AlertType, Severity, TargetKind
from derpmgr.errors import ServiceError

pytestmark = pytest.mark.django_db


def _unhealthy(server, message="SSH timed out", severity=Severity.CRITICAL):
    return alerts.open_alert(type=AlertType.SERVER_UNHEALTHY, target=server, severity=severity,
                             message=message, details={"failures": 3})


def test_an_alert_is_opened_once_while_its_condition_lasts(make_server):
    server = make_server("sh-1")
    first = _unhealthy(server)
    again = _unhealthy(server, message="SSH refused")
    assert again.pk == first.pk
    assert Alert.objects.open().count() == 1
    assert again.message == "SSH refused"
    assert (first.target_kind, first.target_id, first.server_id) == (TargetKind.SERVER,
                                                                     server.pk, server.pk)
    assert AuditEvent.objects.filter(action="monitoring.alert_opened").count() == 1


def test_a_higher_severity_is_kept_a_lower_one_does_not_downgrade(make_server):
    server = make_server("sh-1")
    _unhealthy(server, severity=Severity.WARNING)
    assert _unhealthy(server, severity=Severity.CRITICAL).severity == Severity.CRITICAL
    assert _unhealthy(server, severity=Severity.WARNING).severity == Severity.CRITICAL


def test_a_resolved_alert_closes_and_the_next_occurrence_is_a_new_alert(make_server):
    server = make_server("sh-1")
    first = _unhealthy(server)
    resolved = alerts.resolve_alert(type=AlertType.SERVER_UNHEALTHY, target=server)
    assert resolved.pk == first.pk and resolved.resolved_at is not None
    assert alerts.resolve_alert(type=AlertType.SERVER_UNHEALTHY, target=server) is None
    assert _unhealthy(server).pk != first.pk
    assert Alert.objects.count() == 2


def test_set_alert_follows_the_condition(make_server):
    server = make_server("sh-1")
    args = {"type": AlertType.DISK_HIGH, "target": server, "severity": Severity.WARNING,
            "message": "disk 95 %"}
    assert alerts.set_alert(condition=True, **args).is_open
    assert not alerts.set_alert(condition=False, **args).is_open
    assert alerts.set_alert(condition=False, **args) is None


def test_acknowledging_needs_a_note_and_is_audited(make_server, admin_user):
    alert = _unhealthy(make_server("sh-1"))
    with pytest.raises(ServiceError):
        alerts.acknowledge(actor=admin_user, alert=alert, note="  ")
    done = alerts.acknowledge(actor=admin_user, alert=alert, note="provider ticket 42")
    assert done.acknowledged_by == admin_user and done.is_open
    assert AuditEvent.objects.filter(action="monitoring.alert_acknowledged").exists()


def test_an_alert_that_becomes_critical_is_notified_again(make_server):
    server = make_server("sh-1")
    alert = _unhealthy(server, severity=Severity.WARNING)
    assert alert.notifications == 1
    _unhealthy(server, severity=Severity.WARNING)
    alert.refresh_from_db()
    assert alert.notifications == 1
    _unhealthy(server, severity=Severity.CRITICAL)
    alert.refresh_from_db()
    assert (alert.severity, alert.notifications) == (Severity.CRITICAL, 2)
