"""Abnormal usage: each customer's finished days are learned into a baseline (EWMA of volume
and peak rate); today far above it opens exactly one alert naming the customer, their relays
and the figures; small volumes and customers still being learned are left alone; the alert
resolves when the day ends below the threshold."""

import datetime

from django.conf import settings

from apps.audit.models import AuditEvent
from apps.monitoring.models import Severity
from tests.traffic.quota_support import GB
from tests.traffic.usage_support import (
    TODAY,
    alerts_about,
    baseline,
    evaluate,
    next_noon,
    traffic,
    usual_days,
)

ALPHA = 2 / (14 + 1)


def test_finished_days_are_learned_once_as_a_weighted_mean(carol):
    assert settings.USAGE_BASELINE_DAYS == 14
    traffic(carol, TODAY - datetime.timedelta(days=2), 1 * GB, peak_bps=1000)
    traffic(carol, TODAY - datetime.timedelta(days=1), 3 * GB, peak_bps=4000)
    traffic(carol, TODAY, 50 * GB)  # today is not learned, only checked

    evaluate()
    evaluate()

    learned = baseline(carol)
    assert learned.days == 2 and learned.last_day == TODAY - datetime.timedelta(days=1)
    assert abs(learned.daily_bytes - (GB + ALPHA * 2 * GB)) < 1
    assert abs(learned.peak_bps - (1000 + ALPHA * 3000)) < 1e-6


def test_a_quiet_day_counts_as_zero(carol):
    traffic(carol, TODAY - datetime.timedelta(days=3), 2 * GB)
    traffic(carol, TODAY - datetime.timedelta(days=1), 2 * GB)  # nothing on the day between

    evaluate()

    learned = baseline(carol)
    assert learned.days == 3
    expected = 2 * GB * (1 - ALPHA)  # the quiet day
    expected += ALPHA * (2 * GB - expected)
    assert abs(learned.daily_bytes - expected) < 1


def test_a_spike_opens_exactly_one_alert_naming_the_customer_relays_and_figures(carol):
    usual_days(carol, 10, volume=GB)
    traffic(carol, TODAY, 8 * GB, peak_bps=12_000_000)

    evaluate()
    evaluate(next_noon(0) + datetime.timedelta(minutes=5))

    [alert] = alerts_about(carol)
    assert alert.severity == Severity.WARNING
    assert "carol" in alert.message
    assert "203.0.113.10:30001" in alert.message and "203.0.113.11:30002" in alert.message
    assert alert.details["today_bytes"] == 8 * GB
    assert alert.details["usual_bytes"] == GB and alert.details["factor"] == 5.0
    assert alert.details["relays"] == ["203.0.113.10:30001", "203.0.113.11:30002"]
    assert AuditEvent.objects.filter(action="monitoring.alert_opened").count() == 1


def test_a_peak_rate_far_above_the_usual_alerts_too(carol):
    usual_days(carol, 10, volume=2 * GB, peak_bps=10_000_000)
    traffic(carol, TODAY, 2 * GB, peak_bps=60_000_000)

    evaluate()

    [alert] = alerts_about(carol)
    assert alert.details["by_peak"] and not alert.details["by_volume"]


def test_below_the_factor_nothing_opens(carol):
    usual_days(carol, 10, volume=GB)
    traffic(carol, TODAY, int(4.9 * GB), peak_bps=10_000_000)

    evaluate()

    assert alerts_about(carol) == []


def test_small_volumes_are_ignored(carol):
    usual_days(carol, 10, volume=10 * 1024**2, peak_bps=100_000)
    traffic(carol, TODAY, 900 * 1024**2, peak_bps=50_000_000)  # 90 times, but under 1 GB

    evaluate()

    assert alerts_about(carol) == []


def test_no_alert_before_enough_days_are_learned(carol):
    usual_days(carol, settings.USAGE_MIN_LEARNED_DAYS - 1, volume=GB)
    traffic(carol, TODAY, 50 * GB)

    evaluate()

    assert baseline(carol).days == settings.USAGE_MIN_LEARNED_DAYS - 1
    assert alerts_about(carol) == []


def test_the_alert_resolves_when_the_day_ends_below_the_threshold(carol):
    usual_days(carol, 10, volume=GB)
    traffic(carol, TODAY, 20 * GB)
    evaluate()
    assert len(alerts_about(carol)) == 1

    traffic(carol, TODAY + datetime.timedelta(days=1), GB // 2)
    evaluate(next_noon())

    assert alerts_about(carol) == []
    assert len(alerts_about(carol, open_only=False)) == 1
    assert baseline(carol).last_day == TODAY  # the spike is learned now


def test_a_spike_that_goes_on_the_next_day_opens_again_once(carol):
    usual_days(carol, 10, volume=GB)
    traffic(carol, TODAY, 20 * GB)
    evaluate()
    traffic(carol, TODAY + datetime.timedelta(days=1), 40 * GB)

    evaluate(next_noon())

    assert len(alerts_about(carol)) == 1
