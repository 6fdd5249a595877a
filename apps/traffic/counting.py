"""The arithmetic of traffic: reset-safe counter deltas, the periods a moment falls in, and
adding bytes into period rows (an upsert that adds, safe under concurrency on PostgreSQL and
SQLite alike)."""

from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.utils import timezone

from apps.containers.engine import Counters

from .models import Resolution


def delta(*, last: Counters, now: Counters, first_counts: bool) -> tuple[int, int]:
    """Bytes received and sent since `last`. A new epoch (a restarted container, a rebooted
    server) began at zero, so all of `now` is new; counters that went back without a new epoch
    we could see restarted too. No epoch yet: all of `now` counts if `first_counts` (a relay's
    container counted from its start), else it is only the baseline (a server's counters since
    its boot were not the panel's to count)."""
    if not last.epoch:
        return (now.rx, now.tx) if first_counts else (0, 0)
    if last.epoch != now.epoch:
        return now.rx, now.tx
    return (now.rx - last.rx if now.rx >= last.rx else now.rx,
            now.tx - last.tx if now.tx >= last.tx else now.tx)


def rate_bps(total_bytes: int, since, now) -> int:
    """Bits per second over the time since the last sample (0 without one)."""
    seconds = (now - since).total_seconds() if since else 0
    return round(total_bytes * 8 / seconds) if seconds > 0 else 0


def periods(now) -> dict[str, datetime]:
    """The minute, hour and day `now` falls in, as their UTC starts; hours and days are those of
    the panel's time zone."""
    local = timezone.localtime(now)
    return {
        Resolution.MINUTE: now.astimezone(UTC).replace(second=0, microsecond=0),
        Resolution.HOUR: local.replace(minute=0, second=0, microsecond=0).astimezone(UTC),
        Resolution.DAY: day_start(local.date()),
    }


def day_start(day: date) -> datetime:
    """Midnight of `day` in the panel's time zone, in UTC."""
    return datetime.combine(day, time(), tzinfo=timezone.get_default_timezone()).astimezone(UTC)


def local_day(now) -> date:
    return timezone.localtime(now).date()


def quota_month_start(now, reset_day: int) -> datetime:
    """When the quota month under way began: the last reset day at 00:00, panel time."""
    today = local_day(now)
    if today.day >= reset_day:
        return day_start(today.replace(day=reset_day))
    last_month = today.replace(day=1) - timedelta(days=1)
    return day_start(last_month.replace(day=reset_day))


def next_reset_day(now, reset_day: int) -> date:
    """The day (panel time) the quota month turns next: the reset day of this month if still to
    come, else of next month."""
    today = local_day(now)
    if today.day < reset_day:
        return today.replace(day=reset_day)
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, reset_day)


def add_into(model, keys: tuple[str, ...], rows: list[dict], *, batch_size: int = 500) -> None:
    """Add each row's rx_bytes/tx_bytes into the row of `model` with the same `keys` (created
    with the row's other fields if missing) and keep the larger peak_bps: one INSERT … ON
    CONFLICT DO UPDATE per batch, so two writers at once both count (neither overwrites the
    other's bytes). Only names from the model's own metadata reach the SQL text."""
    merged: dict[tuple, dict] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        seen = merged.get(key)
        if seen is None:
            merged[key] = dict(row)
        else:
            seen["rx_bytes"] += row["rx_bytes"]
            seen["tx_bytes"] += row["tx_bytes"]
            seen["peak_bps"] = max(seen["peak_bps"], row["peak_bps"])
    if not merged:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    extra = [name for name in next(iter(merged.values())) if name not in keys]
    fields = [meta.get_field(name) for name in (*keys, *extra)]
    table = quote(meta.db_table)
    rx, tx, peak = (quote(meta.get_field(n).column) for n in ("rx_bytes", "tx_bytes", "peak_bps"))
    larger = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    head = f"INSERT INTO {table} ({', '.join(quote(f.column) for f in fields)}) VALUES "  # noqa: S608
    tail = (f" ON CONFLICT ({', '.join(quote(f.column) for f in fields[:len(keys)])}) DO UPDATE"
            f" SET {rx} = {table}.{rx} + excluded.{rx}, {tx} = {table}.{tx} + excluded.{tx},"
            f" {peak} = {larger}({table}.{peak}, excluded.{peak})")
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    ordered = [merged[key] for key in sorted(merged, key=str)]  # one lock order for all writers
    with connection.cursor() as cursor:
        for first in range(0, len(ordered), batch_size):
            batch = ordered[first:first + batch_size]
            params = [field.get_db_prep_value(row[field.attname], connection)
                      for row in batch for field in fields]
            cursor.execute(head + ", ".join([placeholder] * len(batch)) + tail, params)
