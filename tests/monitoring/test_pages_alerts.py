"""The alert pages: the ops dashboard shows the open alerts first (critical first, resolved ones
not at all); /ops/alerts/ lists the history with filters and pages; an alert's page shows its
target, times in the panel's time zone, its notifications, and takes an acknowledgement with a
note (a missing note is said on the form)."""

import datetime
import re

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.monitoring import services as alerts
from apps.monitoring.models import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertEvent,
    AlertType,
    Severity,
)
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(make_server):
    one, two = make_server("sh-1"), make_server("sh-2")
    disk = alerts.open_alert(type=AlertType.DISK_HIGH, target=one, severity=Severity.WARNING,
                             message="disk 93 % on sh-1")
    gone = alerts.open_alert(type=AlertType.LATENCY_HIGH, target=one, severity=Severity.CRITICAL,
                             message="latency 2400 ms, since cleared")
    alerts.resolve_alert(type=AlertType.LATENCY_HIGH, target=one)
    down = alerts.open_alert(type=AlertType.SERVER_UNHEALTHY, target=two,
                             severity=Severity.CRITICAL, message="sh-2 does not answer SSH")
    return {"one": one, "two": two, "disk": disk, "gone": gone, "down": down}


def _alert_rows(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-alert-id="(\d+)"', html)]


def test_the_dashboard_shows_open_alerts_critical_first(admin_user, history):
    page = signed_in_client(admin_user).get("/ops/").content.decode()

    assert _alert_rows(page) == [history["down"].pk, history["disk"].pk]
    assert "since cleared" not in page
    assert page.index('id="open-alerts"') < page.index("Recent activity")
    assert f'href="/ops/servers/{history["two"].pk}/"' in page  # the target is a link
    assert "appear here as the fleet is added" not in page


def test_the_dashboard_says_when_nothing_is_open(admin_user):
    page = signed_in_client(admin_user).get("/ops/").content.decode()

    assert "No open alerts" in page


def test_the_history_lists_open_alerts_unless_asked(admin_user, history):
    client = signed_in_client(admin_user)

    assert _alert_rows(client.get("/ops/alerts/").content.decode()) == [
        history["down"].pk, history["disk"].pk]
    assert _alert_rows(client.get("/ops/alerts/?state=resolved").content.decode()) == [
        history["gone"].pk]
    everything = client.get(f"/ops/alerts/?state=all&server_id={history['one'].pk}")
    assert _alert_rows(everything.content.decode()) == [history["disk"].pk, history["gone"].pk]
    critical = client.get("/ops/alerts/?state=all&severity=critical&type=latency_high")
    assert _alert_rows(critical.content.decode()) == [history["gone"].pk]


@pytest.mark.parametrize("query", ["state=closed", "severity=panic", "server_id=x",
                                   "since=not-a-date"])
def test_a_bad_filter_is_said_on_the_form(admin_user, history, query):
    response = signed_in_client(admin_user).get(f"/ops/alerts/?{query}")

    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()
    assert _alert_rows(response.content.decode()) == []


def test_the_history_is_paged(admin_user, make_server):
    server = make_server("sh-9")
    for number in range(55):
        Alert.objects.create(type=AlertType.RECONCILE_DRIFT, severity=Severity.INFO,
                             target_kind="server", target_id=server.pk, target_label="sh-9",
                             server_id=server.pk, message=f"drift {number}",
                             resolved_at=timezone.now())
    client = signed_in_client(admin_user)
    first = client.get("/ops/alerts/?state=all").content.decode()
    second = client.get("/ops/alerts/?state=all&page=2").content.decode()

    assert len(_alert_rows(first)) == 50 and len(_alert_rows(second)) == 5
    assert "Page 1 of 2" in first


def test_an_alert_page_shows_times_in_shanghai_and_its_deliveries(admin_user, history):
    alert = history["down"]
    Alert.objects.filter(pk=alert.pk).update(
        opened_at=datetime.datetime(2026, 11, 29, 1, 30, tzinfo=datetime.UTC))
    channel = AlertChannel.objects.create(name="ops-webhook", kind="webhook",
                                          url="https://hooks.example.com/x")
    AlertDelivery.objects.create(alert=alert, channel=channel, event=AlertEvent.OPENED,
                                 state="failed", attempts=3, last_error="HTTP 502")
    page = signed_in_client(admin_user).get(f"/ops/alerts/{alert.pk}/").content.decode()

    assert "2026-11-29 09:30" in page  # 01:30 UTC
    assert "sh-2 does not answer SSH" in page
    assert "ops-webhook" in page and "HTTP 502" in page
    assert f'href="/ops/servers/{history["two"].pk}/"' in page


def test_acknowledging_on_the_page(admin_user, history):
    alert = history["down"]
    client = signed_in_client(admin_user)
    response = client.post(f"/ops/alerts/{alert.pk}/", {"note": "Aliyun ticket 4711 opened"})

    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledgement == "Aliyun ticket 4711 opened"
    assert alert.acknowledged_by == admin_user and alert.is_open
    assert AuditEvent.objects.filter(action="monitoring.alert_acknowledged",
                                     actor=admin_user).count() == 1
    page = client.get(f"/ops/alerts/{alert.pk}/").content.decode()
    assert "Aliyun ticket 4711 opened" in page


@pytest.mark.parametrize("note", ["", "   "])
def test_a_missing_note_is_said_on_the_form(admin_user, history, note):
    alert = history["down"]
    response = signed_in_client(admin_user).post(f"/ops/alerts/{alert.pk}/", {"note": note})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    assert not AuditEvent.objects.filter(action="monitoring.alert_acknowledged").exists()


def test_an_unknown_alert_is_a_404(admin_user):
    assert signed_in_client(admin_user).get("/ops/alerts/424242/").status_code == 404
