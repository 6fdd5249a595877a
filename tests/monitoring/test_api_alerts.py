"""GET /api/monitoring/alerts lists the open alerts, critical first, unless asked for resolved or
all; it filters by type, severity, server and time, pages the answer, and answers a bad filter
with a 400 naming the field (never a 500). An operator acknowledges an alert with a note."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.monitoring import services as alerts
from apps.monitoring.models import Alert, AlertType, Severity
from tests.conftest import token_client
from tests.servers.conftest import refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(make_server):
    """sh-1: an open warning (disk) and a resolved critical; sh-2: an open critical."""
    one, two = make_server("sh-1"), make_server("sh-2")
    disk = alerts.open_alert(type=AlertType.DISK_HIGH, target=one, severity=Severity.WARNING,
                             message="disk 93 %")
    old = alerts.open_alert(type=AlertType.SERVER_UNHEALTHY, target=one,
                            severity=Severity.CRITICAL, message="SSH timed out")
    alerts.resolve_alert(type=AlertType.SERVER_UNHEALTHY, target=one)
    Alert.objects.filter(pk=old.pk).update(opened_at=timezone.now() - timedelta(days=3))
    down = alerts.open_alert(type=AlertType.SERVER_UNHEALTHY, target=two,
                             severity=Severity.CRITICAL, message="SSH refused")
    return {"one": one, "two": two, "disk": disk, "old": old, "down": down}


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:300]
    return [row["id"] for row in response.json()["results"]]


def test_open_alerts_are_listed_critical_first(admin_user, history):
    response = token_client(admin_user).get("/api/monitoring/alerts")

    assert _ids(response) == [history["down"].pk, history["disk"].pk]
    first = response.json()["results"][0]
    assert (first["type"], first["severity"], first["target_label"], first["is_open"]) == (
        "server_unhealthy", "critical", "sh-2", True)
    assert response.json()["count"] == 2


@pytest.mark.parametrize(("query", "expected"), [
    ("state=resolved", ["old"]),
    ("state=all", ["down", "disk", "old"]),
    ("state=all&type=server_unhealthy", ["down", "old"]),
    ("state=all&severity=warning", ["disk"]),
    ("state=all&server_id={one}", ["disk", "old"]),
    ("state=all&since={yesterday}", ["down", "disk"]),
    ("state=all&until={yesterday}", ["old"]),
])
def test_filters_choose_the_alerts(admin_user, history, query, expected):
    yesterday = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    url = "/api/monitoring/alerts?" + query.format(one=history["one"].pk, yesterday=yesterday)

    assert _ids(token_client(admin_user).get(url)) == [history[name].pk for name in expected]


def test_the_list_is_paged(admin_user, history):
    client = token_client(admin_user)
    first = client.get("/api/monitoring/alerts?state=all&page_size=2").json()
    second = client.get("/api/monitoring/alerts?state=all&page_size=2&page=2").json()

    assert (first["count"], first["pages"], len(first["results"])) == (3, 2, 2)
    assert [row["id"] for row in second["results"]] == [history["old"].pk]


@pytest.mark.parametrize(("query", "field"), [
    ("state=closed", "state"), ("type=meteor", "type"), ("severity=panic", "severity"),
    ("server_id=abc", "server_id"), ("server_id=1.5", "server_id"),
    ("server_id=99999999999999999999", "server_id"), ("since=yesterday", "since"),
    ("until=2026-13-45", "until"), ("page=x", "page"), ("page_size=0", "page_size"),
])
def test_a_bad_filter_is_a_400_naming_the_field(admin_user, history, query, field):
    error = refused(token_client(admin_user).get(f"/api/monitoring/alerts?{query}"), 400)

    assert field in error["fields"]


def test_since_after_until_is_refused(admin_user, history):
    refused(token_client(admin_user).get(
        "/api/monitoring/alerts?since=2026-02-01T00:00Z&until=2026-01-01T00:00Z"), 400)


def test_one_alert_and_an_unknown_one(admin_user, history):
    client = token_client(admin_user)
    body = client.get(f"/api/monitoring/alerts/{history['old'].pk}").json()

    assert body["alert"]["resolved_at"] and body["alert"]["message"] == "SSH timed out"
    refused(client.get("/api/monitoring/alerts/999999"), 404, "not_found")
    refused(client.get("/api/monitoring/alerts/99999999999999999999999"), 404)


def test_acknowledging_keeps_the_note_and_is_audited(admin_user, history):
    response = token_client(admin_user).post(
        f"/api/monitoring/alerts/{history['down'].pk}/acknowledge",
        {"note": "Rebooting it via the Aliyun console"}, format="json")

    assert response.status_code == 200, response.content
    alert = response.json()["alert"]
    assert alert["acknowledgement"] == "Rebooting it via the Aliyun console"
    assert alert["acknowledged_by"] == admin_user.email and alert["is_open"] is True
    event = AuditEvent.objects.get(action="monitoring.alert_acknowledged")
    assert event.actor_id == admin_user.pk
    assert event.details["note"] == "Rebooting it via the Aliyun console"


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": "   "}, {"note": "x" * 2001},
                                  {"note": ["a list"]}])
def test_acknowledging_needs_a_note(admin_user, history, body):
    response = token_client(admin_user).post(
        f"/api/monitoring/alerts/{history['down'].pk}/acknowledge", body, format="json")

    error = refused(response, 400)
    assert "note" in error.get("fields", {})
    assert not Alert.objects.filter(acknowledged_at__isnull=False).exists()


def test_a_body_that_is_not_an_object_is_refused(admin_user, history):
    response = token_client(admin_user).post(
        f"/api/monitoring/alerts/{history['down'].pk}/acknowledge", ["note"], format="json")

    refused(response, 400)
