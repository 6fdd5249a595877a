"""Reading the traffic history: points per period for a relay, a server or a customer, month
totals and the top customers and servers. One query per series, whatever its length."""

import dataclasses
from datetime import date, datetime, time, timedelta

from django.db.models import F, Sum
from django.utils import timezone

from . import counting
from .models import RelayTraffic, Resolution, ServerTraffic, UserTrafficDay

STEPS = {Resolution.MINUTE: timedelta(minutes=1), Resolution.HOUR: timedelta(hours=1),
         Resolution.DAY: timedelta(days=1)}


@dataclasses.dataclass
class TrafficPoint:
    start: datetime
    rx_bytes: int
    tx_bytes: int
    peak_bps: int

    @property
    def at(self) -> datetime:  # what the charts read
        return self.start

    @property
    def value(self) -> int:
        return self.rx_bytes + self.tx_bytes

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "rx_bytes": self.rx_bytes,
                "tx_bytes": self.tx_bytes, "peak_bps": self.peak_bps}


def totals(points: list[TrafficPoint]) -> dict:
    return {"rx_bytes": sum(p.rx_bytes for p in points),
            "tx_bytes": sum(p.tx_bytes for p in points),
            "total_bytes": sum(p.value for p in points),
            "peak_bps": max((p.peak_bps for p in points), default=0)}


def _points(rows) -> list[TrafficPoint]:
    return [TrafficPoint(start, rx or 0, tx or 0, peak or 0) for start, rx, tx, peak in rows]


def relay_series(*, instance_id: int, resolution: str, start, end) -> list[TrafficPoint]:
    """One relay's periods starting in [start, end), oldest first."""
    return _points(RelayTraffic.objects.filter(
        instance_id=instance_id, resolution=resolution, start__gte=start, start__lt=end)
        .order_by("start").values_list("start", "rx_bytes", "tx_bytes", "peak_bps"))


def server_series(*, server_id: int, resolution: str, start, end) -> list[TrafficPoint]:
    """The server's interface traffic per period starting in [start, end), oldest first."""
    return _points(ServerTraffic.objects.filter(
        server_id=server_id, resolution=resolution, start__gte=start, start__lt=end)
        .order_by("start").values_list("start", "rx_bytes", "tx_bytes", "peak_bps"))


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def customer_series(*, user_id: int, resolution: str, start, end) -> list[TrafficPoint]:
    """A customer's traffic over all their relays: per day from the daily totals (days in the
    panel's time zone), per hour summed over their relays' hours."""
    if resolution == Resolution.DAY:
        zone = timezone.get_default_timezone()
        rows = (UserTrafficDay.objects.filter(
            user_id=user_id, day__gte=timezone.localtime(start, zone).date(),
            day__lt=_local_date_ceiling(end)).order_by("day")
            .values_list("day", "rx_bytes", "tx_bytes", "peak_bps"))
        return [TrafficPoint(_day_start(day), rx, tx, peak) for day, rx, tx, peak in rows]
    return _points(RelayTraffic.objects.filter(
        user_id=user_id, resolution=resolution, start__gte=start, start__lt=end)
        .values("start").order_by("start")
        .annotate(rx=Sum("rx_bytes"), tx=Sum("tx_bytes"), peak=Sum("peak_bps"))
        .values_list("start", "rx", "tx", "peak"))


def _local_date_ceiling(end) -> date:
    """The first local day not touched by [.., end)."""
    local = timezone.localtime(end, timezone.get_default_timezone())
    return local.date() + timedelta(days=1) if local.time() != time.min else local.date()


def month_start(now=None) -> date:
    """The first day of the calendar month under way, in the panel's time zone."""
    return timezone.localdate(now or timezone.now()).replace(day=1)


def customer_month_bytes(*, user_id: int, now=None) -> int:
    found = (UserTrafficDay.objects.filter(user_id=user_id, day__gte=month_start(now))
             .aggregate(total=Sum(F("rx_bytes") + F("tx_bytes"))))
    return found["total"] or 0


def top_customers(*, limit: int = 10, now=None) -> list[dict]:
    """The customers who moved the most bytes this calendar month, most first:
    [{user_id, email, username, rx_bytes, tx_bytes, total_bytes}]."""
    rows = (UserTrafficDay.objects.filter(day__gte=month_start(now)).values("user_id")
            .annotate(rx=Sum("rx_bytes"), tx=Sum("tx_bytes"),
                      total=Sum(F("rx_bytes") + F("tx_bytes")))
            .order_by("-total", "user_id")
            .values_list("user_id", "user__email", "user__username", "rx", "tx", "total")[:limit])
    return [{"user_id": pk, "email": email, "username": username, "rx_bytes": rx,
             "tx_bytes": tx, "total_bytes": total}
            for pk, email, username, rx, tx, total in rows]


def next_reset(server, now=None) -> date | None:
    """The day the server's monthly quota starts again (its reset day, panel time); None
    without a quota."""
    if not server.monthly_quota_bytes:
        return None
    return counting.next_reset_day(now or timezone.now(), server.quota_reset_day)
