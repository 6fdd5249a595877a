"""Collecting traffic: a sampling round reads every server's interface counters and its relay
containers' network counters at once, adds the reset-safe deltas to the running totals and to
the minute, hour and day series, rolls servers' quota months, then lets the quota and
abnormal-usage rules look at the new figures.

Remote work happens in threads that touch no database; what each server answered is written
in the calling thread as soon as it arrives (while the others are still being read), in a short
transaction of its own (none is held open while a server is asked). Every total moves by a conditional
update from the counters it was computed against, so two rounds at once never count a byte
twice; a server that did not answer adds nothing now and everything at its next answer.
"""

import dataclasses
import logging
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.containers.engine import Counters, get_engine
from apps.containers.models import DerpInstance
from apps.servers.models import Server, ServerStatus

from . import collect, counting, quota, usage
from .models import RelayTraffic, Resolution, ServerTraffic, UserTrafficDay

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Reading:
    """What one server answered: its interface counters and its relays', or why not."""

    host: Counters | None = None
    relays: dict[int, Counters] | None = None
    errors: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class RoundReport:
    servers: int = 0
    relays: int = 0
    bytes: int = 0
    failed: dict[int, str] = dataclasses.field(default_factory=dict)
    reads_seconds: float = 0.0  # when the last reading arrived, after the start


@dataclasses.dataclass
class _RelayDelta:
    instance: DerpInstance
    counters: Counters
    rx: int
    tx: int
    rate: int


def _read(server: Server) -> Reading:
    reading = Reading()
    try:
        reading.host = collect.interface_counters(server)
    except Exception as exc:
        reading.errors.append(f"interface: {exc}")
    try:
        reading.relays = get_engine().network_counters(server)
    except Exception as exc:
        reading.errors.append(f"relays: {exc}")
    return reading


def _as_they_come(servers: list[Server]):
    """(server, Reading) for each server as its reading arrives; those without one
    TRAFFIC_SAMPLE_TIMEOUT seconds after the start last, as failed (their threads are left to
    end by their own timeouts: nobody waits for them)."""
    if not servers:
        return
    pool = ThreadPoolExecutor(max_workers=max(1, min(settings.TRAFFIC_SAMPLE_WORKERS,
                                                     len(servers))), thread_name_prefix="traffic")
    futures = {pool.submit(_read, server): server for server in servers}
    try:
        for future in as_completed(futures, timeout=settings.TRAFFIC_SAMPLE_TIMEOUT):
            error = future.exception()
            yield futures.pop(future), (Reading(errors=[str(error) or type(error).__name__])
                                        if error else future.result())
    except FuturesTimeout:
        for server in futures.values():
            yield server, Reading(errors=[
                f"no answer within {settings.TRAFFIC_SAMPLE_TIMEOUT:g} s"])
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def sample_round(*, now=None, server_ids=None) -> RoundReport:
    """Sample every server that is set up (or those of `server_ids`) and its relays. Each
    server's figures are recorded as soon as its reading arrives (while the others are still
    being read), in a transaction of its own."""
    began = time.monotonic()
    now = now or timezone.now()
    servers = Server.objects.exclude(status=ServerStatus.SETTING_UP).order_by("pk")
    if server_ids is not None:
        servers = servers.filter(pk__in=server_ids)
    servers = list(servers)
    report = RoundReport(servers=len(servers))
    user_rates: dict[int, int] = {}
    for server, reading in _as_they_come(servers):
        report.reads_seconds = time.monotonic() - began
        if reading.errors:
            report.failed[server.pk] = "; ".join(reading.errors)[:2000]
            logger.warning("traffic sample of server %s incomplete: %s", server.pk,
                           report.failed[server.pk])
        try:
            with transaction.atomic():
                _roll_month(server, now)
                if reading.host is not None:
                    report.bytes += _record_server(server, reading.host, now)
                if reading.relays is not None:
                    changes = _relay_deltas(server, reading.relays, now)
                    report.relays += _record_relays(changes, now)
                    for change in changes:
                        user = change.instance.user_id
                        user_rates[user] = user_rates.get(user, 0) + change.rate
        except Exception:  # one server's bookkeeping never costs the others theirs
            logger.exception("recording the traffic of server %s failed", server.pk)
    # A customer's peak: the sum of their relays' rates over every server this round.
    today = counting.local_day(now)
    counting.add_into(UserTrafficDay, ("user_id", "day"), [
        {"user_id": user, "day": today, "rx_bytes": 0, "tx_bytes": 0, "peak_bps": rate}
        for user, rate in user_rates.items() if rate])
    quota.after_sampling(server_ids=[s.pk for s in servers], now=now)
    usage.evaluate(now=now)
    return report


def _relay_deltas(server: Server, sampled: dict[int, Counters], now) -> list[_RelayDelta]:
    """Each sampled relay's delta, computed against the counters stored now."""
    instances = DerpInstance.objects.filter(server_id=server.pk).only(
        "pk", "server_id", "user_id", "rate_bps", "last_rx_counter", "last_tx_counter",
        "counter_epoch", "last_sample_at")
    deltas = []
    for instance in instances:
        counters = sampled.get(instance.pk)
        if counters is None:
            if instance.rate_bps:  # not running: it carries nothing now
                DerpInstance.objects.filter(pk=instance.pk).update(rate_bps=0)
            continue
        last = Counters(rx=instance.last_rx_counter, tx=instance.last_tx_counter,
                        epoch=instance.counter_epoch)
        rx, tx = counting.delta(last=last, now=counters, first_counts=True)
        deltas.append(_RelayDelta(instance, counters, rx, tx,
                                  counting.rate_bps(rx + tx, instance.last_sample_at, now)))
    return deltas


def _roll_month(server: Server, now) -> None:
    """Past the reset day, the quota month starts again from zero (also for a server that did
    not answer: the new month is due whatever the counters say)."""
    start = counting.quota_month_start(now, server.quota_reset_day)
    Server.objects.filter(pk=server.pk).filter(
        Q(traffic_period_start__isnull=True) | Q(traffic_period_start__lt=start)
    ).update(traffic_month_bytes=0, traffic_period_start=start)


def _quota_share(rx: int, tx: int) -> int:
    """What counts toward the monthly quota (TRAFFIC_QUOTA_COUNTS: both, tx or rx)."""
    return {"rx": rx, "tx": tx}.get(settings.TRAFFIC_QUOTA_COUNTS, rx + tx)


def _record_server(server: Server, counters: Counters, now) -> int:
    last = Counters(rx=server.last_rx_counter, tx=server.last_tx_counter,
                    epoch=server.counter_epoch)
    rx, tx = counting.delta(last=last, now=counters, first_counts=False)
    rate = counting.rate_bps(rx + tx, server.last_sample_at, now)
    moved = Server.objects.filter(
        pk=server.pk, counter_epoch=last.epoch, last_rx_counter=last.rx, last_tx_counter=last.tx,
    ).update(traffic_total_bytes=F("traffic_total_bytes") + rx + tx,
             traffic_month_bytes=F("traffic_month_bytes") + _quota_share(rx, tx),
             rate_bps=rate, last_rx_counter=counters.rx, last_tx_counter=counters.tx,
             counter_epoch=counters.epoch, last_sample_at=now)
    if not moved:  # another round counted these bytes meanwhile
        return 0
    counting.add_into(ServerTraffic, ("server_id", "resolution", "start"), [
        {"server_id": server.pk, "resolution": resolution, "start": start,
         "rx_bytes": rx, "tx_bytes": tx, "peak_bps": rate}
        for resolution, start in counting.periods(now).items()])
    return rx + tx


def _record_relays(changes: list[_RelayDelta], now) -> int:
    """Totals, counters and series of one server's sampled relays; returns how many moved."""
    idle, moving = [], []
    for change in changes:
        instance, counters = change.instance, change.counters
        unchanged = (counters.epoch == instance.counter_epoch
                     and counters.rx == instance.last_rx_counter
                     and counters.tx == instance.last_tx_counter)
        # Nothing to add: only the time of the sample moves (no row written for an idle relay).
        (idle if unchanged and not instance.rate_bps else moving).append(change)
    if idle:
        DerpInstance.objects.filter(pk__in=[c.instance.pk for c in idle]).update(
            last_sample_at=now)
    moved = _move_relays(moving, now)
    series, days = [], []
    today, periods = counting.local_day(now), counting.periods(now)
    for change in moving:
        instance = change.instance
        if instance.pk not in moved or not (change.rx or change.tx):
            continue
        series += [{"instance_id": instance.pk, "server_id": instance.server_id,
                    "user_id": instance.user_id, "resolution": resolution, "start": start,
                    "rx_bytes": change.rx, "tx_bytes": change.tx, "peak_bps": change.rate}
                   for resolution, start in periods.items()]
        days.append({"user_id": instance.user_id, "day": today, "rx_bytes": change.rx,
                     "tx_bytes": change.tx, "peak_bps": 0})
    counting.add_into(RelayTraffic, ("instance_id", "resolution", "start"), series)
    counting.add_into(UserTrafficDay, ("user_id", "day"), days)
    return len(idle) + len(moved)


def _move_relays(changes: list[_RelayDelta], now, *, batch_size: int = 500) -> set[int]:
    """Add each relay's delta to its totals and store its new counters, only where the stored
    counters are still those the delta was computed from (another round did not count them
    meanwhile): one UPDATE … FROM (VALUES …) per batch. Returns the ids that moved."""
    table = connection.ops.quote_name(DerpInstance._meta.db_table)
    columns = {name: connection.ops.quote_name(DerpInstance._meta.get_field(name).column)
               for name in ("id", "rx_bytes", "tx_bytes", "rate_bps", "last_rx_counter",
                            "last_tx_counter", "counter_epoch", "last_sample_at")}
    c = {name: f"{table}.{column}" for name, column in columns.items()}
    big, text = "CAST(%s AS bigint)", "CAST(%s AS varchar(100))"
    row = f"({big}, {text}, {big}, {big}, {big}, {big}, {big}, {big}, {big}, {text})"
    # v.column1 …: the names PostgreSQL and SQLite both give the columns of a VALUES list.
    sql = (f"UPDATE {table} SET {columns['rx_bytes']} = {c['rx_bytes']} + v.column5, "  # noqa: S608
           f"{columns['tx_bytes']} = {c['tx_bytes']} + v.column6, "
           f"{columns['rate_bps']} = v.column7, {columns['last_rx_counter']} = v.column8, "
           f"{columns['last_tx_counter']} = v.column9, {columns['counter_epoch']} = v.column10, "
           f"{columns['last_sample_at']} = %s FROM (VALUES {{rows}}) AS v "
           f"WHERE {c['id']} = v.column1 AND {c['counter_epoch']} = v.column2 "
           f"AND {c['last_rx_counter']} = v.column3 AND {c['last_tx_counter']} = v.column4 "
           f"RETURNING {c['id']}")
    at = DerpInstance._meta.get_field("last_sample_at").get_db_prep_value(now, connection)
    moved = set()
    with connection.cursor() as cursor:
        for first in range(0, len(changes), batch_size):
            batch = changes[first:first + batch_size]
            params = [at]
            for change in batch:
                instance, counters = change.instance, change.counters
                params += [instance.pk, instance.counter_epoch, instance.last_rx_counter,
                           instance.last_tx_counter, change.rx, change.tx, change.rate,
                           counters.rx, counters.tx, counters.epoch]
            cursor.execute(sql.format(rows=", ".join([row] * len(batch))), params)
            moved.update(pk for (pk,) in cursor.fetchall())
    return moved


def prune(*, now=None) -> dict:
    """Delete series rows past their retention (minute, hour and day rows, customers' days)."""
    now = now or timezone.now()
    keep = {Resolution.MINUTE: settings.TRAFFIC_MINUTE_RETENTION_DAYS,
            Resolution.HOUR: settings.TRAFFIC_HOUR_RETENTION_DAYS,
            Resolution.DAY: settings.TRAFFIC_DAY_RETENTION_DAYS}
    deleted = {}
    for resolution, days in keep.items():
        cutoff = now - timedelta(days=days)
        relays, _by_model = RelayTraffic.objects.filter(resolution=resolution,
                                                        start__lt=cutoff).delete()
        servers, _by_model = ServerTraffic.objects.filter(resolution=resolution,
                                                          start__lt=cutoff).delete()
        deleted[resolution] = relays + servers
    first_kept = counting.local_day(now) - timedelta(days=settings.TRAFFIC_DAY_RETENTION_DAYS)
    deleted["customer_days"], _by_model = UserTrafficDay.objects.filter(
        day__lt=first_kept).delete()
    return deleted
