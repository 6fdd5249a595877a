"""Sampling rounds: relays and servers add what their counters advanced; a restarted container,
counters that went back, a server unreachable for a while and two rounds at once lose nothing
and count nothing twice; rates follow the deltas; the quota month starts again on the reset
day; one slow server holds up nobody."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from apps.containers.engine import container_name
from apps.servers.models import Server
from apps.traffic import quota, sampling
from apps.traffic.models import RelayTraffic, Resolution, ServerTraffic
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# 11:00 in Shanghai (the panel's time zone in the tests).
START = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
MiB = 1 << 20


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


@pytest.fixture
def relay(fake_engine, make_server, place_relay):
    return place_relay(UserFactory(), make_server(), engine=fake_engine)


def totals(instance) -> tuple[int, int]:
    instance.refresh_from_db()
    return instance.rx_bytes, instance.tx_bytes


def test_a_relay_adds_what_its_counters_advanced_and_its_rate(relay, fake_engine, fake_hosts):
    fake_engine.carry(relay, rx=1000, tx=3000)
    sampling.sample_round(now=at(0))
    assert totals(relay) == (1000, 3000)  # a new container counted from its start
    fake_engine.carry(relay, rx=6 * MiB, tx=9 * MiB)
    sampling.sample_round(now=at(1))
    assert totals(relay) == (1000 + 6 * MiB, 3000 + 9 * MiB)
    assert relay.rate_bps == round(15 * MiB * 8 / 60)
    assert relay.last_sample_at == at(1)
    sampling.sample_round(now=at(2))
    assert totals(relay) == (1000 + 6 * MiB, 3000 + 9 * MiB)
    assert relay.rate_bps == 0


def test_a_restarted_container_loses_nothing_and_counts_nothing_twice(relay, fake_engine,
                                                                      fake_hosts):
    fake_engine.carry(relay, rx=1000, tx=1000)
    sampling.sample_round(now=at(0))
    fake_engine.restart(relay)
    fake_engine.carry(relay, rx=5000, tx=300)  # more than before on one side, less on the other
    sampling.sample_round(now=at(1))
    assert totals(relay) == (6000, 1300)  # not 5000 − 1000 on rx, nor a negative on tx
    fake_engine.carry(relay, rx=10, tx=20)
    sampling.sample_round(now=at(2))
    assert totals(relay) == (6010, 1320)


def test_a_recreated_container_is_a_new_epoch(relay, fake_engine, fake_hosts):
    fake_engine.carry(relay, rx=700, tx=700)
    sampling.sample_round(now=at(0))
    fake_engine.remove(relay)
    fake_engine.run_relay(relay)
    fake_engine.carry(relay, rx=900, tx=100)
    sampling.sample_round(now=at(1))
    assert totals(relay) == (1600, 800)


def test_counters_that_went_back_without_a_restart_count_from_zero(relay, fake_engine,
                                                                   fake_hosts):
    fake_engine.carry(relay, rx=5000, tx=5000)
    sampling.sample_round(now=at(0))
    container = fake_engine.on(relay.server)[container_name(relay)]
    container["rx"], container["tx"] = 40, 7000  # rx went back (a wrap we could not see)
    sampling.sample_round(now=at(1))
    assert totals(relay) == (5040, 7000)


def test_an_unreachable_server_for_three_samples_then_back_loses_nothing(
        relay, fake_engine, fake_hosts):
    server = relay.server
    fake_hosts.carry(server, rx=10 * MiB, tx=10 * MiB)  # since boot: not the panel's to count
    sampling.sample_round(now=at(0))
    carried = [(100, 200), (3000, 4000), (50000, 60000), (7, 9), (1, 2)]
    for minute, (rx, tx) in enumerate(carried, start=1):
        fake_engine.carry(relay, rx=rx, tx=tx)
        fake_hosts.carry(server, rx=rx * 2, tx=tx * 2)
        down = 2 <= minute <= 4
        (fake_engine.down.add if down else fake_engine.down.discard)(server.pk)
        (fake_hosts.down.add if down else fake_hosts.down.discard)(server.pk)
        report = sampling.sample_round(now=at(minute))
        assert (server.pk in report.failed) == down
        if down:
            assert totals(relay) == (100, 200)  # nothing now …
    rx_sent, tx_sent = sum(rx for rx, _ in carried), sum(tx for _, tx in carried)
    assert totals(relay) == (rx_sent, tx_sent)  # … everything later, once
    server.refresh_from_db()
    assert server.traffic_total_bytes == 2 * (rx_sent + tx_sent)
    assert server.traffic_month_bytes == server.traffic_total_bytes
    since_back = 2 * (rx_sent + tx_sent - 300)
    assert server.rate_bps == round(since_back * 8 / (4 * 60))  # over the gap since at(1)


def test_a_rebooted_server_counts_from_zero(make_server, fake_engine, fake_hosts):
    server = make_server()
    fake_hosts.carry(server, rx=10_000, tx=10_000)
    sampling.sample_round(now=at(0))
    fake_hosts.carry(server, rx=500, tx=500)
    sampling.sample_round(now=at(1))
    fake_hosts.reboot(server)
    fake_hosts.carry(server, rx=20, tx=30)
    sampling.sample_round(now=at(2))
    server.refresh_from_db()
    assert server.traffic_total_bytes == 1000 + 50
    assert server.counter_epoch == "boot-2"


def test_two_rounds_at_once_count_each_byte_once(relay, fake_engine, fake_hosts, monkeypatch):
    """A second round that records while the first is between reading and writing: the first
    one's conditional updates find the counters moved and add nothing."""
    server = relay.server
    sampling.sample_round(now=at(0))
    fake_engine.carry(relay, rx=800, tx=900)
    fake_hosts.carry(server, rx=8000, tx=9000)
    computed = sampling._relay_deltas
    nested = []

    def then_another_round(*args):
        deltas = computed(*args)
        if not nested:
            nested.append(1)
            sampling.sample_round(now=at(1))
        return deltas

    monkeypatch.setattr(sampling, "_relay_deltas", then_another_round)
    sampling.sample_round(now=at(1))
    assert totals(relay) == (800, 900)
    server.refresh_from_db()
    assert server.traffic_total_bytes == 17000
    minute = RelayTraffic.objects.get(instance=relay, resolution=Resolution.MINUTE,
                                      start=at(1))
    assert (minute.rx_bytes, minute.tx_bytes) == (800, 900)


def test_what_counts_toward_the_quota_is_a_setting(make_server, fake_engine, fake_hosts,
                                                   settings):
    server = make_server()
    sampling.sample_round(now=at(0))
    settings.TRAFFIC_QUOTA_COUNTS = "tx"
    fake_hosts.carry(server, rx=100, tx=30)
    sampling.sample_round(now=at(1))
    server.refresh_from_db()
    assert (server.traffic_month_bytes, server.traffic_total_bytes) == (30, 130)


def test_the_quota_month_starts_again_on_the_reset_day(make_server, fake_engine, fake_hosts,
                                                       monkeypatch):
    """Reset day 15: the month turns at 00:00 on the 15th in Shanghai (16:00 UTC the day before);
    the quota rules see the new month in the same round."""
    server = make_server(quota_reset_day=15, monthly_quota_bytes=10 * MiB)
    seen = []
    monkeypatch.setattr(quota, "after_sampling", lambda *, server_ids, now: seen.append(
        (now, Server.objects.get(pk=server.pk).traffic_month_bytes)))
    turn = datetime(2026, 11, 14, 16, 0, tzinfo=UTC)
    sampling.sample_round(now=turn - timedelta(minutes=2))
    server.refresh_from_db()
    assert server.traffic_period_start == datetime(2026, 10, 14, 16, 0, tzinfo=UTC)
    fake_hosts.carry(server, rx=4 * MiB, tx=4 * MiB)
    sampling.sample_round(now=turn - timedelta(minutes=1))
    fake_hosts.carry(server, rx=1000, tx=24)
    sampling.sample_round(now=turn + timedelta(seconds=30))
    server.refresh_from_db()
    assert server.traffic_period_start == turn
    assert server.traffic_month_bytes == 1024
    assert server.traffic_total_bytes == 8 * MiB + 1024
    assert seen[-2:] == [(turn - timedelta(minutes=1), 8 * MiB),
                         (turn + timedelta(seconds=30), 1024)]


def test_an_unreachable_server_still_starts_its_new_month(make_server, fake_engine, fake_hosts):
    server = make_server(quota_reset_day=1)
    fake_hosts.carry(server, rx=1, tx=1)
    sampling.sample_round(now=datetime(2026, 11, 30, 15, 0, tzinfo=UTC))
    fake_hosts.carry(server, rx=5, tx=5)
    sampling.sample_round(now=datetime(2026, 11, 30, 15, 1, tzinfo=UTC))
    fake_hosts.down.add(server.pk)
    fake_engine.down.add(server.pk)
    sampling.sample_round(now=datetime(2026, 11, 30, 16, 1, tzinfo=UTC))  # Dec 1, 00:01 local
    server.refresh_from_db()
    assert (server.traffic_month_bytes, server.traffic_total_bytes) == (0, 10)
    assert server.traffic_period_start == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


def test_idle_relays_write_no_rows_and_servers_one_a_minute(relay, fake_engine, fake_hosts,
                                                            place_relay):
    busy = place_relay(UserFactory(), relay.server, port=relay.port + 1, engine=fake_engine)
    for minute in range(5):
        fake_engine.carry(busy, rx=100, tx=100)
        sampling.sample_round(now=at(minute))
    assert not RelayTraffic.objects.filter(instance=relay).exists()
    assert RelayTraffic.objects.filter(instance=busy, resolution=Resolution.MINUTE).count() == 5
    assert ServerTraffic.objects.filter(resolution=Resolution.MINUTE).count() == 5
    relay.refresh_from_db()
    assert relay.last_sample_at == at(4)  # sampled all the same


def test_one_slow_server_holds_up_nobody(make_server, place_relay, fake_engine, fake_hosts,
                                         settings):
    settings.TRAFFIC_SAMPLE_TIMEOUT = 1
    slow, quick = make_server(), make_server()
    relay = place_relay(UserFactory(), quick, engine=fake_engine)
    sampling.sample_round(now=at(0))
    fake_hosts.hanging.add(slow.pk)
    fake_hosts.carry(slow, rx=70, tx=70)
    fake_hosts.carry(quick, rx=50, tx=50)
    fake_engine.carry(relay, rx=5, tx=5)
    began = time.monotonic()
    report = sampling.sample_round(now=at(1))
    assert time.monotonic() - began < 5
    assert set(report.failed) == {slow.pk}
    quick.refresh_from_db()
    slow.refresh_from_db()
    assert (quick.traffic_total_bytes, slow.traffic_total_bytes) == (100, 0)
    assert totals(relay) == (5, 5)
    fake_hosts.hanging.clear()
    fake_hosts.release.set()
    sampling.sample_round(now=at(2))
    slow.refresh_from_db()
    assert slow.traffic_total_bytes == 140
