"""What the abnormal-usage tests share: a customer with relays on two servers, their days of
traffic written straight into UserTrafficDay, and evaluate() at a chosen moment."""

import datetime

import pytest
from django.utils import timezone, translation

from apps.monitoring.models import Alert, AlertType
from apps.traffic import usage
from apps.traffic.models import UsageBaseline, UserTrafficDay
from tests.containers.conftest import make_server, relay
from tests.traffic.quota_support import GB, at, customer

TODAY = datetime.date(2026, 11, 20)
NOON = at(2026, 11, 20, 12)


def traffic(user, day: datetime.date, volume: int, peak_bps: int = 0) -> None:
    """The customer's day so far (or whole, for a past day), as the sampling round leaves it."""
    UserTrafficDay.objects.update_or_create(user=user, day=day, defaults={
        "rx_bytes": volume // 2, "tx_bytes": volume - volume // 2, "peak_bps": peak_bps})


def usual_days(user, count: int, volume: int = GB, peak_bps: int = 10_000_000,
               before: datetime.date = TODAY) -> None:
    for n in range(count, 0, -1):
        traffic(user, before - datetime.timedelta(days=n), volume, peak_bps)


def evaluate(now=NOON) -> None:
    with translation.override("en"):
        usage.evaluate(now=now)


def baseline(user) -> UsageBaseline:
    return UsageBaseline.objects.get(user=user)


def alerts_about(user, *, open_only: bool = True) -> list[Alert]:
    found = Alert.objects.filter(type=AlertType.ABNORMAL_USAGE, target_id=user.pk)
    return list(found.open() if open_only else found)


def next_noon(days: int = 1) -> datetime.datetime:
    return NOON + datetime.timedelta(days=days)


@pytest.fixture
def carol(db):
    """A customer with relays on two servers (rows only)."""
    user = customer("carol")
    relay(user, make_server(name="usage-a", public_ip="203.0.113.10"), port=30001)
    relay(user, make_server(name="usage-b", public_ip="203.0.113.11"), port=30002)
    return user


@pytest.fixture
def spiking(carol):
    """Carol's open abnormal-usage alert: ten usual days of 1 GB, then 20 GB today."""
    usual_days(carol, 10, volume=GB)
    traffic(carol, TODAY, 20 * GB)
    evaluate()
    [alert] = alerts_about(carol)
    return alert


def end_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1),
                                                         datetime.time()))
