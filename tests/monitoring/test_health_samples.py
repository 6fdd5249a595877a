"""Each probe round stores its figures as samples (one insert for the round); every hour they
are rolled up into count/mean/min/max per series, the same rows however often that runs, and
raw samples and roll-ups past their retention are deleted."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.monitoring import health
from apps.monitoring.models import Metric, Sample, SampleRollup
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_a_round_stores_server_relay_and_ping_samples_in_one_insert(make_server, place_relay,
                                                                    fake_probes):
    server = make_server("sh-1")
    relay = place_relay(UserFactory(), server, port=30000)
    fake_probes.pings[server.pk] = {"10.0.0.1": (3.5, 0.0), "10.0.0.9": (None, 100.0)}

    with CaptureQueriesContext(connection) as queries:
        report = health.probe_round(now=NOON)

    inserts = [q for q in queries.captured_queries
               if q["sql"].startswith('INSERT INTO "monitoring_sample"')]
    assert len(inserts) == 1 and report.samples == Sample.objects.count()
    by_series = {(s.instance_id, s.metric, s.label): s.value for s in Sample.objects.all()}
    assert by_series[(None, Metric.LOAD1, "")] == 0.25
    assert by_series[(None, Metric.SSH_MS, "")] == 12.5
    assert by_series[(None, Metric.ENGINE_OK, "")] == 1
    assert by_series[(None, Metric.PING_MS, "10.0.0.1")] == 3.5
    assert by_series[(None, Metric.PING_LOSS, "10.0.0.9")] == 100.0
    assert (None, Metric.PING_MS, "10.0.0.9") not in by_series  # no answer, no figure
    assert by_series[(relay.pk, Metric.TLS_MS, "")] == 4.0
    assert by_series[(relay.pk, Metric.REACHABLE, "")] == 1
    assert {s.taken_at for s in Sample.objects.all()} == {NOON}


def _samples(server, values, *, start, every=timedelta(minutes=20), metric=Metric.LOAD1):
    Sample.objects.bulk_create([Sample(server=server, metric=metric, value=value,
                                       taken_at=start + n * every)
                                for n, value in enumerate(values)])


def rollups():
    return sorted((r.metric, r.hour, r.count, r.mean, r.low, r.high)
                  for r in SampleRollup.objects.all())


def test_complete_hours_are_rolled_up_and_running_twice_gives_the_same_rows(make_server):
    server = make_server("sh-1")
    _samples(server, [1.0, 2.0, 6.0, 4.0], start=NOON)  # 12:00, 12:20, 12:40, 13:00

    first = health.prune_and_roll_up(now=NOON + timedelta(hours=1, minutes=30))
    assert rollups() == [(Metric.LOAD1, NOON, 3, 3.0, 1.0, 6.0)]  # 13:00 is not over yet
    ids = set(SampleRollup.objects.values_list("pk", flat=True))

    health.prune_and_roll_up(now=NOON + timedelta(hours=1, minutes=45))
    assert rollups() == [(Metric.LOAD1, NOON, 3, 3.0, 1.0, 6.0)]
    assert first["rolled_up"] == 1 and len(ids) == 1

    health.prune_and_roll_up(now=NOON + timedelta(hours=2, minutes=5))
    assert rollups() == [(Metric.LOAD1, NOON, 3, 3.0, 1.0, 6.0),
                         (Metric.LOAD1, NOON + timedelta(hours=1), 1, 4.0, 4.0, 4.0)]


def test_series_are_kept_apart_by_server_relay_metric_and_label(make_server, place_relay):
    one, two = make_server("one"), make_server("two")
    relay = place_relay(UserFactory(), one, port=30000)
    _samples(one, [1.0], start=NOON)
    _samples(two, [5.0], start=NOON)
    Sample.objects.create(server=one, instance=relay, metric=Metric.TLS_MS, value=7, taken_at=NOON)
    Sample.objects.create(server=one, metric=Metric.PING_MS, label="a", value=2, taken_at=NOON)
    Sample.objects.create(server=one, metric=Metric.PING_MS, label="b", value=9, taken_at=NOON)

    health.prune_and_roll_up(now=NOON + timedelta(hours=1))

    got = {(r.server_id, r.instance_id, r.metric, r.label): r.mean
           for r in SampleRollup.objects.all()}
    assert got == {(one.pk, None, Metric.LOAD1, ""): 1.0, (two.pk, None, Metric.LOAD1, ""): 5.0,
                   (one.pk, relay.pk, Metric.TLS_MS, ""): 7.0,
                   (one.pk, None, Metric.PING_MS, "a"): 2.0,
                   (one.pk, None, Metric.PING_MS, "b"): 9.0}


def test_raw_samples_past_retention_go_after_being_rolled_up_and_old_rollups_expire(
        make_server, settings):
    settings.SAMPLE_RETENTION_DAYS, settings.ROLLUP_RETENTION_DAYS = 3, 400
    server = make_server("sh-1")
    now = NOON + timedelta(days=5)
    _samples(server, [1.0, 3.0], start=NOON)  # five days old
    _samples(server, [7.0], start=now - timedelta(days=1))  # yesterday
    SampleRollup.objects.create(server=server, metric=Metric.LOAD1, hour=now - timedelta(days=401),
                                count=1, mean=1, low=1, high=1)

    result = health.prune_and_roll_up(now=now)

    assert list(Sample.objects.values_list("value", flat=True)) == [7.0]
    assert result["pruned"] == 2 and result["expired_rollups"] == 1
    hours = dict(SampleRollup.objects.values_list("hour", "mean"))
    assert hours == {NOON: 2.0, now - timedelta(days=1): 7.0}  # the history outlives the samples


def test_hours_are_hours_of_utc_whatever_the_display_time_zone(make_server, settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # UTC+05:30: its hours start at half past, in UTC
    server = make_server("sh-1")
    _samples(server, [1.0, 3.0], start=NOON + timedelta(minutes=10))  # 12:10, 12:30 UTC

    health.prune_and_roll_up(now=NOON + timedelta(hours=2))

    assert rollups() == [(Metric.LOAD1, NOON, 2, 2.0, 1.0, 3.0)]
