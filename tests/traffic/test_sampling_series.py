"""The series a sampling round writes: hour and day rows (days of the panel's time zone) always
equal the sum of their minutes, customers' days the sum of their relays', with the peak rate the
largest; rows past their retention are deleted; writers adding into the same row at once both
count (PostgreSQL)."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Max, Sum

from apps.traffic import counting, sampling
from apps.traffic.models import RelayTraffic, Resolution, ServerTraffic, UserTrafficDay
from tests.factories import UserFactory

# 20:00 in Shanghai: the rounds below cross the panel's midnight (16:00 UTC).
START = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def summed(rows) -> tuple[int, int]:
    figures = rows.aggregate(rx=Sum("rx_bytes"), tx=Sum("tx_bytes"))
    return figures["rx"] or 0, figures["tx"] or 0


@pytest.mark.django_db
def test_hours_days_and_customer_days_are_the_sums_of_the_minutes(
        make_server, place_relay, fake_engine, fake_hosts):
    customer = UserFactory()
    servers = [make_server(), make_server()]  # a customer has one relay per server
    relays = [place_relay(customer, server, engine=fake_engine) for server in servers]
    for n in range(0, 10 * 60, 7):  # a sample every 7 minutes for 10 hours
        fake_engine.carry(relays[0], rx=1000 + n, tx=2 * n)
        if n % 3 == 0:
            fake_engine.carry(relays[1], rx=n * n, tx=5)
        fake_hosts.carry(servers[0], rx=n, tx=1)
        sampling.sample_round(now=START + timedelta(minutes=n, seconds=13))
    for relay in relays:
        relay.refresh_from_db()
        mine = RelayTraffic.objects.filter(instance=relay)
        minutes = mine.filter(resolution=Resolution.MINUTE)
        assert summed(minutes) == (relay.rx_bytes, relay.tx_bytes)
        for resolution, span in ((Resolution.HOUR, timedelta(hours=1)),
                                 (Resolution.DAY, timedelta(days=1))):
            rows = list(mine.filter(resolution=resolution))
            assert summed(mine.filter(resolution=resolution)) == (relay.rx_bytes, relay.tx_bytes)
            for row in rows:
                inside = minutes.filter(start__gte=row.start, start__lt=row.start + span)
                assert summed(inside) == (row.rx_bytes, row.tx_bytes)
                assert row.peak_bps == inside.aggregate(p=Max("peak_bps"))["p"]
        days = sorted(mine.filter(resolution=Resolution.DAY).values_list("start", flat=True))
        assert days == [datetime(2026, 11, 9, 16, tzinfo=UTC), datetime(2026, 11, 10, 16, tzinfo=UTC)]
    server = servers[0]
    server.refresh_from_db()
    assert summed(ServerTraffic.objects.filter(resolution=Resolution.DAY)) == summed(
        ServerTraffic.objects.filter(resolution=Resolution.MINUTE))
    assert sum(summed(ServerTraffic.objects.filter(resolution=Resolution.HOUR))) == \
        server.traffic_total_bytes > 0
    for day in UserTrafficDay.objects.filter(user=customer):
        relay_day = RelayTraffic.objects.filter(user=customer, resolution=Resolution.DAY,
                                                start=counting.day_start(day.day))
        assert summed(relay_day) == (day.rx_bytes, day.tx_bytes)
    assert UserTrafficDay.objects.filter(user=customer).count() == 2


@pytest.mark.django_db
def test_rows_past_their_retention_are_deleted(make_server, place_relay, settings):
    settings.TRAFFIC_MINUTE_RETENTION_DAYS = 3
    settings.TRAFFIC_HOUR_RETENTION_DAYS = 35
    settings.TRAFFIC_DAY_RETENTION_DAYS = 400
    customer, server = UserFactory(), make_server()
    relay = place_relay(customer, server)
    now = START
    ages = {Resolution.MINUTE: (2, 4), Resolution.HOUR: (34, 36), Resolution.DAY: (399, 401)}
    for resolution, (kept, gone) in ages.items():
        for days in (kept, gone):
            start = now - timedelta(days=days)
            RelayTraffic.objects.create(instance=relay, server=server, user=customer,
                                        resolution=resolution, start=start, rx_bytes=days)
            ServerTraffic.objects.create(server=server, resolution=resolution, start=start,
                                         rx_bytes=days)
    for days in (399, 401):
        UserTrafficDay.objects.create(user=customer, day=counting.local_day(now) -
                                      timedelta(days=days), rx_bytes=days)
    deleted = sampling.prune(now=now)
    assert deleted == {Resolution.MINUTE: 2, Resolution.HOUR: 2, Resolution.DAY: 2,
                       "customer_days": 1}
    for model in (RelayTraffic, ServerTraffic):
        assert sorted(model.objects.values_list("resolution", "rx_bytes")) == sorted(
            (resolution, kept) for resolution, (kept, _gone) in ages.items())
    assert list(UserTrafficDay.objects.values_list("rx_bytes", flat=True)) == [399]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_writers_adding_into_the_same_rows_at_once_both_count(make_server):
    server = make_server()
    start = START.replace(minute=0)
    barrier = threading.Barrier(4)
    errors = []

    def add(n):
        try:
            barrier.wait(timeout=10)
            for _ in range(25):
                counting.add_into(ServerTraffic, ("server_id", "resolution", "start"), [
                    {"server_id": server.pk, "resolution": resolution, "start": start,
                     "rx_bytes": 1, "tx_bytes": n, "peak_bps": n}
                    for resolution in (Resolution.HOUR, Resolution.DAY)])
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(n,)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    for resolution in (Resolution.HOUR, Resolution.DAY):
        row = ServerTraffic.objects.get(server=server, resolution=resolution, start=start)
        assert (row.rx_bytes, row.tx_bytes, row.peak_bps) == (100, 25 * (1 + 2 + 3 + 4), 4)
