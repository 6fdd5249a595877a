"""GET /api/server/<id>/metrics: a server's (or one relay's) series — the raw samples of the last
24 hours, hourly means with minimum and maximum over 7 or 30 days (the hours not rolled up yet
come from the raw samples). A bad metric, range or relay is a 400 or 404, never a 500."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.monitoring.models import Metric, Sample, SampleRollup
from tests.conftest import token_client
from tests.factories import UserFactory
from tests.servers.conftest import refused

pytestmark = pytest.mark.django_db


def _hour(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def server(make_server):
    return make_server("sh-1")


@pytest.fixture
def relay(server, place_relay):
    return place_relay(UserFactory(), server)


def _get(user, server, query):
    return token_client(user).get(f"/api/server/{server.pk}/metrics?{query}")


def test_the_last_24_hours_are_the_raw_samples(admin_user, server, relay):
    now = timezone.now()
    for minutes, value in ((30, 0.4), (10, 0.6), (60 * 25, 9.9)):
        Sample.objects.create(server=server, metric=Metric.LOAD1, value=value,
                              taken_at=now - timedelta(minutes=minutes))
    Sample.objects.create(server=server, instance=relay, metric=Metric.LOAD1, value=7.0)
    Sample.objects.create(server=server, metric=Metric.MEM_PERCENT, value=50.0)

    body = _get(admin_user, server, "metric=load1").json()

    assert (body["metric"], body["range"]) == ("load1", "24h")
    points = body["series"][0]["points"]
    assert [p["value"] for p in points] == [0.4, 0.6]  # oldest first; 25 h ago is out


def test_ping_series_are_one_per_target(admin_user, server):
    for target, value in (("1.1.1.1", 20.0), ("8.8.8.8", 31.0)):
        Sample.objects.create(server=server, metric=Metric.PING_MS, label=target, value=value)

    series = _get(admin_user, server, "metric=ping_ms").json()["series"]
    assert [(s["label"], s["points"][0]["value"]) for s in series] == [("1.1.1.1", 20.0),
                                                                       ("8.8.8.8", 31.0)]


def test_seven_days_are_hourly_rollups_and_the_current_hour_from_raw(admin_user, server, relay):
    now = timezone.now()
    this_hour = _hour(now)
    for hours_ago, mean in ((72, 10.0), (5, 12.0), (1, 14.0)):
        SampleRollup.objects.create(server=server, instance=relay, metric=Metric.TLS_MS,
                                    hour=this_hour - timedelta(hours=hours_ago), count=12,
                                    mean=mean, low=mean - 2, high=mean + 5)
    SampleRollup.objects.create(server=server, instance=relay, metric=Metric.TLS_MS,
                                hour=this_hour - timedelta(days=9), count=12, mean=99, low=1,
                                high=200)  # older than 7 days
    Sample.objects.create(server=server, instance=relay, metric=Metric.TLS_MS, value=20.0,
                          taken_at=this_hour)
    Sample.objects.create(server=server, instance=relay, metric=Metric.TLS_MS, value=30.0,
                          taken_at=min(now, this_hour + timedelta(seconds=1)))
    # a raw sample of an hour already rolled up is not counted twice
    Sample.objects.create(server=server, instance=relay, metric=Metric.TLS_MS, value=500.0,
                          taken_at=this_hour - timedelta(hours=1, minutes=-5))

    body = _get(admin_user, server, f"metric=tls_ms&range=7d&relay_id={relay.pk}").json()

    points = body["series"][0]["points"]
    assert [p["value"] for p in points] == [10.0, 12.0, 14.0, 25.0]
    assert (points[0]["low"], points[0]["high"], points[0]["count"]) == (8.0, 15.0, 12)
    assert (points[-1]["low"], points[-1]["high"], points[-1]["count"]) == (20.0, 30.0, 2)
    assert body["relay_id"] == relay.pk


def test_thirty_days_reach_back_further(admin_user, server):
    hour = _hour(timezone.now()) - timedelta(days=20)
    SampleRollup.objects.create(server=server, metric=Metric.DISK_PERCENT, hour=hour, count=1,
                                mean=70, low=70, high=70)

    assert _get(admin_user, server, "metric=disk_percent&range=7d").json()["series"] == []
    series = _get(admin_user, server, "metric=disk_percent&range=30d").json()["series"]
    assert [p["value"] for p in series[0]["points"]] == [70.0]


def test_without_rollups_a_long_range_is_built_from_raw_samples(admin_user, server):
    now = timezone.now()
    for hours_ago, value in ((3, 1.0), (3, 3.0), (0, 5.0)):
        Sample.objects.create(server=server, metric=Metric.LOAD1, value=value,
                              taken_at=_hour(now) - timedelta(hours=hours_ago))

    points = _get(admin_user, server, "metric=load1&range=7d").json()["series"][0]["points"]
    assert [(p["value"], p["count"]) for p in points] == [(2.0, 2), (5.0, 1)]


@pytest.mark.parametrize(("query", "field"), [
    ("", "metric"), ("metric=cpu_temperature", "metric"), ("metric=load1&range=1y", "range"),
    ("metric=tls_ms", "relay_id"), ("metric=load1&relay_id=1", "relay_id"),
    ("metric=tls_ms&relay_id=abc", "relay_id"),
])
def test_a_bad_query_is_a_400(admin_user, server, query, field):
    error = refused(_get(admin_user, server, query), 400)

    assert field in error["fields"]


def test_a_relay_of_another_server_or_an_unknown_server_is_a_404(admin_user, server,
                                                                 make_server, place_relay):
    elsewhere = place_relay(UserFactory(), make_server("sh-2"))

    refused(_get(admin_user, server, f"metric=tls_ms&relay_id={elsewhere.pk}"), 404)
    refused(token_client(admin_user).get("/api/server/987654/metrics?metric=load1"), 404)


def test_a_target_whose_rollups_lag_is_completed_from_raw_samples(admin_user, server):
    this_hour = _hour(timezone.now())
    for label, hours_ago in (("1.1.1.1", 1), ("8.8.8.8", 3)):
        SampleRollup.objects.create(server=server, metric=Metric.PING_MS, label=label,
                                    hour=this_hour - timedelta(hours=hours_ago), count=1,
                                    mean=10, low=10, high=10)
    for label in ("1.1.1.1", "8.8.8.8"):  # two hours ago: rolled up for one target only
        Sample.objects.create(server=server, metric=Metric.PING_MS, label=label, value=50,
                              taken_at=this_hour - timedelta(hours=2))

    series = {s["label"]: [p["value"] for p in s["points"]] for s in
              _get(admin_user, server, "metric=ping_ms&range=7d").json()["series"]}
    assert series == {"1.1.1.1": [10.0], "8.8.8.8": [10.0, 50.0]}
