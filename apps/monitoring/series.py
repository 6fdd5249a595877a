"""Series of figures for charts and GET /api/server/<id>/metrics: raw samples for the last
24 hours, hourly roll-ups for longer ranges (with the hours not rolled up yet taken from the raw
samples). Two queries at most, whatever the number of series."""

import dataclasses
from datetime import timedelta

from django.utils import timezone

from .models import Metric, Sample, SampleRollup

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
RAW_RANGES = frozenset({"24h"})
RELAY_METRICS = frozenset({Metric.TCP_MS, Metric.TLS_MS, Metric.HTTP_MS, Metric.STUN_MS,
                           Metric.REACHABLE})


@dataclasses.dataclass
class Point:
    at: object  # datetime (UTC)
    value: float
    low: float
    high: float
    count: int = 1

    def as_dict(self) -> dict:
        return {"t": self.at.isoformat(), "value": round(self.value, 3),
                "low": round(self.low, 3), "high": round(self.high, 3), "count": self.count}


# (relay id or None, metric, label) → points, oldest first.
Series = dict[tuple[int | None, str, str], list[Point]]


def _hour(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def _rows(model, *, server_id, metrics, relays, instance_id):
    rows = model.objects.filter(server_id=server_id, metric__in=list(metrics))
    if instance_id is not None:
        return rows.filter(instance_id=instance_id)
    return rows.filter(instance__isnull=not relays)


def series(*, server_id: int, metrics, range_name: str, relays: bool = False,
           instance_id: int | None = None, now=None) -> Series:
    """The server's own series (relays=False), all its relays' series (relays=True), or one
    relay's (instance_id) of `metrics` over `range_name` (a key of RANGES)."""
    now = now or timezone.now()
    start = now - RANGES[range_name]
    scope = dict(server_id=server_id, metrics=metrics, relays=relays, instance_id=instance_id)
    found: Series = {}
    raw_since = start
    if range_name not in RAW_RANGES:
        rollups = (_rows(SampleRollup, **scope).filter(hour__gte=_hour(start))
                   .order_by("hour").values_list("instance_id", "metric", "label", "hour",
                                                 "count", "mean", "low", "high"))
        for instance, metric, label, hour, count, mean, low, high in rollups:
            found.setdefault((instance, metric, label), []).append(
                Point(hour, mean, low, high, count))
        if found:  # from the series whose roll-ups lag most; hours already rolled up are skipped
            raw_since = min(points[-1].at for points in found.values()) + timedelta(hours=1)
    raw = (_rows(Sample, **scope).filter(taken_at__gte=raw_since, taken_at__lte=now)
           .order_by("taken_at").values_list("instance_id", "metric", "label", "taken_at",
                                             "value"))
    if range_name in RAW_RANGES:
        for instance, metric, label, taken_at, value in raw:
            found.setdefault((instance, metric, label), []).append(
                Point(taken_at, value, value, value))
        return found
    hours: dict[tuple, dict] = {}
    for instance, metric, label, taken_at, value in raw:
        hours.setdefault((instance, metric, label), {}).setdefault(_hour(taken_at), []).append(
            value)
    for key, by_hour in hours.items():
        points = found.setdefault(key, [])
        last = points[-1].at if points else None
        for hour, values in sorted(by_hour.items()):
            if last is None or hour > last:
                points.append(Point(hour, sum(values) / len(values), min(values), max(values),
                                    len(values)))
    return found
