"""Ops mark a customer's abnormal usage as expected (API and admin): audited, the alert resolves,
none opens again until the end of the period, and the marked day is learned clamped so it does
not poison the baseline. Bad input is a 400 naming the field; other alerts are refused."""

import datetime

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from apps.audit.models import AuditEvent
from apps.monitoring import services as alerts
from apps.monitoring.models import Alert, AlertType, Severity
from apps.traffic import usage
from tests.conftest import signed_in_client, token_client
from tests.servers.conftest import refused
from tests.traffic.quota_support import GB
from tests.traffic.usage_support import (
    NOON,
    TODAY,
    alerts_about,
    baseline,
    end_of,
    evaluate,
    next_noon,
    traffic,
)

ALPHA = 2 / (14 + 1)


def expected_url(alert) -> str:
    return f"/api/monitoring/alerts/{alert.pk}/expected"


def test_marking_expected_resolves_and_suppresses_until_the_end_of_the_day(admin_user, carol,
                                                                         spiking):
    usage.mark_expected(actor=admin_user, user=carol, now=NOON)

    assert alerts_about(carol) == []
    assert baseline(carol).expected_until == end_of(TODAY)
    event = AuditEvent.objects.get(action="traffic.usage_expected")
    assert event.actor_id == admin_user.pk and event.target_id == str(carol.pk)

    traffic(carol, TODAY, 30 * GB)  # still climbing: no new alert today
    evaluate(NOON + datetime.timedelta(hours=3))
    assert alerts_about(carol) == []

    traffic(carol, TODAY + datetime.timedelta(days=1), 40 * GB)  # the mark has run out
    evaluate(next_noon())
    assert len(alerts_about(carol)) == 1


def test_a_marked_day_is_learned_clamped_to_factor_times_the_usual(admin_user, carol, spiking):
    usage.mark_expected(actor=admin_user, user=carol, now=NOON)
    traffic(carol, TODAY, 100 * GB)
    usual = baseline(carol).daily_bytes

    evaluate(next_noon())

    learned = baseline(carol).daily_bytes
    assert abs(learned - (usual + ALPHA * (5 * usual - usual))) < 1
    assert learned < 2 * GB  # 100 GB unclamped would have made it over 14 GB


def test_the_api_marks_expected_for_some_days(admin_user, carol, spiking, time_machine):
    time_machine.move_to(NOON, tick=False)
    response = token_client(admin_user).post(expected_url(spiking), {"days": 3}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["alert"]["is_open"] is False
    until = end_of(TODAY + datetime.timedelta(days=2))
    assert baseline(carol).expected_until == until
    assert body["expected_until"] == until.isoformat()


@pytest.mark.parametrize("body", [{"days": 0}, {"days": 91}, {"days": "soon"}, {"days": 1.5},
                                  {"days": True}, ["days"]])
def test_bad_input_is_a_400_and_nothing_changes(admin_user, carol, spiking, body):
    response = token_client(admin_user).post(expected_url(spiking), body, format="json")

    refused(response, 400)
    assert len(alerts_about(carol)) == 1
    assert baseline(carol).expected_until is None
    assert not AuditEvent.objects.filter(action="traffic.usage_expected").exists()


def test_only_an_abnormal_usage_alert_can_be_marked_expected(admin_user, carol):
    other = alerts.open_alert(type=AlertType.SHORTFALL, target=carol, severity=Severity.WARNING,
                              message="short")

    response = token_client(admin_user).post(expected_url(other), {}, format="json")

    refused(response, 409, "not_abnormal_usage")
    assert Alert.objects.get(pk=other.pk).is_open


@pytest.mark.parametrize("persona", ["user", "distributor", "stranger"])
def test_only_operators_may_mark_expected(personas, persona, spiking):
    response = token_client(personas[persona]).post(expected_url(spiking), {}, format="json")

    assert response.status_code in (403, 404)
    assert Alert.objects.get(pk=spiking.pk).is_open


def test_an_unknown_alert_is_a_404(admin_user, spiking):
    response = token_client(admin_user).post("/api/monitoring/alerts/999999/expected", {},
                                             format="json")

    refused(response, 404)


def test_the_admin_action_marks_expected(superadmin, carol, spiking, time_machine):
    time_machine.move_to(NOON, tick=False)
    client = signed_in_client(superadmin)

    response = client.post("/admin/monitoring/alert/", {
        "action": "mark_expected", "index": 0, ACTION_CHECKBOX_NAME: [spiking.pk],
        "apply": "1", "days": 2})

    assert response.status_code == 302
    assert alerts_about(carol) == []
    assert baseline(carol).expected_until == end_of(TODAY + datetime.timedelta(days=1))
    assert AuditEvent.objects.get(action="traffic.usage_expected").actor_id == superadmin.pk


def test_the_admin_action_refuses_a_bad_number_of_days(superadmin, carol, spiking):
    response = signed_in_client(superadmin).post("/admin/monitoring/alert/", {
        "action": "mark_expected", "index": 0, ACTION_CHECKBOX_NAME: [spiking.pk],
        "apply": "1", "days": 500})

    assert response.status_code == 400
    assert len(alerts_about(carol)) == 1
