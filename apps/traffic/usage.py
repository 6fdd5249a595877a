"""Abnormal usage: each customer's day against their usual volume and peak rate.

Learning. Each finished day (in the panel's time zone) goes into the customer's UsageBaseline:
exponentially weighted means of the day's bytes (received + sent) and peak rate, with
alpha = 2 / (USAGE_BASELINE_DAYS + 1). The first day learned sets the means; a day without any
traffic counts as zero (a customer who went quiet gets a lower usual). A day an operator marked
expected is learned clamped to factor × the usual (volume and peak): one announced spike raises
the usual a little, not for weeks.

Checking. Today so far against the usual, once USAGE_MIN_LEARNED_DAYS days are learned: today's
volume at least MonitoringSettings.abnormal_usage_min_bytes (small volumes are ignored, for
the peak rate too) and above factor × the usual volume, or the peak rate above factor × the usual
peak → one ABNORMAL_USAGE alert about the customer naming their relays and the figures. It
resolves when the day ends below the threshold (the next day starts from zero), and while ops
marked the customer's usage expected no alert opens.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.audit import services as audit
from apps.containers.models import DerpInstance
from apps.monitoring import services as monitoring
from apps.monitoring.models import Alert, AlertType, MonitoringSettings, Severity, TargetKind
from derpmgr.errors import ServiceError

from .models import UsageBaseline, UserTrafficDay

MAX_EXPECTED_DAYS = 90
ONE_DAY = datetime.timedelta(days=1)


def evaluate(*, now) -> None:
    """Called by the sampling job: learn finished days, alert on days far above the usual."""
    config = MonitoringSettings.current()
    today = timezone.localdate(now)
    for user_id in _behind(today):
        learn(user_id=user_id, today=today, factor=config.abnormal_usage_factor)
    check(today=today, now=now, config=config)


def _lookback(today: datetime.date) -> datetime.date:
    """Days further back weigh nothing any more (under 1 % after four spans): never read."""
    return today - ONE_DAY * (4 * settings.USAGE_BASELINE_DAYS)


def _behind(today: datetime.date) -> list[int]:
    """Customers with finished days not yet learned."""
    yesterday = today - ONE_DAY
    recent = set(UserTrafficDay.objects.filter(day__lt=today, day__gte=_lookback(today))
                 .values_list("user_id", flat=True).distinct())
    stale = set(UsageBaseline.objects.filter(last_day__lt=yesterday).values_list("user_id",
                                                                                 flat=True))
    current = set(UsageBaseline.objects.filter(last_day__gte=yesterday).values_list("user_id",
                                                                                   flat=True))
    return sorted((recent | stale) - current)


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def learn(*, user_id: int, today: datetime.date, factor: float) -> UsageBaseline | None:
    """Fold the customer's finished days not yet learned into their baseline (under the row's
    lock: two rounds at once learn each day once)."""
    yesterday = today - ONE_DAY
    with transaction.atomic():
        baseline, _created = UsageBaseline.objects.select_for_update().get_or_create(
            user_id=user_id)
        rows = UserTrafficDay.objects.filter(user_id=user_id, day__lte=yesterday,
                                             day__gte=_lookback(today))
        if baseline.last_day is not None:
            rows = rows.filter(day__gt=baseline.last_day)
        days = {row.day: row for row in rows}
        if baseline.last_day is not None:
            day = max(baseline.last_day + ONE_DAY, _lookback(today))
        elif days:
            day = min(days)  # a new customer's first day of traffic
        else:
            return baseline
        alpha = 2 / (settings.USAGE_BASELINE_DAYS + 1)
        while day <= yesterday:
            row = days.get(day)
            volume = float(row.rx_bytes + row.tx_bytes) if row else 0.0
            peak = float(row.peak_bps) if row else 0.0
            if baseline.days and baseline.expected_until and \
                    baseline.expected_until > _day_start(day):
                volume = min(volume, factor * baseline.daily_bytes)
                peak = min(peak, factor * baseline.peak_bps)
            if baseline.days:
                baseline.daily_bytes += alpha * (volume - baseline.daily_bytes)
                baseline.peak_bps += alpha * (peak - baseline.peak_bps)
            else:
                baseline.daily_bytes, baseline.peak_bps = volume, peak
            baseline.days += 1
            baseline.last_day = day
            day += ONE_DAY
        baseline.updated_at = timezone.now()
        baseline.save()
    return baseline


def abnormal(row: UserTrafficDay | None, baseline: UsageBaseline | None, *, now,
             config: MonitoringSettings) -> dict | None:
    """The figures that make today abnormal, or None when it is not (or may not alert)."""
    if row is None or baseline is None or baseline.days < settings.USAGE_MIN_LEARNED_DAYS:
        return None
    if baseline.expected_until and baseline.expected_until > now:
        return None
    volume, factor = row.rx_bytes + row.tx_bytes, config.abnormal_usage_factor
    if volume < config.abnormal_usage_min_bytes:
        return None
    by_volume = volume > factor * baseline.daily_bytes
    by_peak = row.peak_bps > factor * baseline.peak_bps
    if not (by_volume or by_peak):
        return None
    return {"today_bytes": volume, "usual_bytes": round(baseline.daily_bytes),
            "peak_bps": row.peak_bps, "usual_peak_bps": round(baseline.peak_bps),
            "factor": factor, "by_volume": by_volume, "by_peak": by_peak,
            "day": row.day.isoformat()}


def check(*, today: datetime.date, now, config: MonitoringSettings) -> None:
    """Open (or refresh) the alert of each customer whose day is abnormal; resolve the others'."""
    rows = {row.user_id: row for row in UserTrafficDay.objects.filter(day=today)}
    alerted = set(Alert.objects.open().filter(type=AlertType.ABNORMAL_USAGE,
                                              target_kind=TargetKind.CUSTOMER)
                  .values_list("target_id", flat=True))
    baselines = UsageBaseline.objects.in_bulk(list(set(rows) | alerted))
    for user in User.objects.filter(pk__in=set(rows) | alerted).order_by("pk"):
        found = abnormal(rows.get(user.pk), baselines.get(user.pk), now=now, config=config)
        if found is None:
            if user.pk in alerted:
                monitoring.resolve_alert(type=AlertType.ABNORMAL_USAGE, target=user)
            continue
        relays = [f"{instance.server.hostname}:{instance.port}" for instance in
                  DerpInstance.objects.live().select_related("server").filter(user=user)
                  .order_by("server__name", "port")]
        found["relays"] = relays
        monitoring.open_alert(
            type=AlertType.ABNORMAL_USAGE, target=user, severity=Severity.WARNING,
            details=found, message=_(
                "%(user)s used %(today)s today (usual %(usual)s a day) at up to %(peak)s "
                "(usual %(usual_peak)s); the alert is at %(factor)s× the usual. Relays: "
                "%(relays)s.") % {
                "user": user.username, "today": filesizeformat(found["today_bytes"]),
                "usual": filesizeformat(found["usual_bytes"]),
                "peak": _rate(found["peak_bps"]), "usual_peak": _rate(found["usual_peak_bps"]),
                "factor": f"{found['factor']:g}", "relays": ", ".join(relays) or "-"})


def _rate(bps: float) -> str:
    return _("%(n).1f Mbit/s") % {"n": bps / 1_000_000}


def expected_until(*, days: int | None, now) -> datetime.datetime:
    """The end of today (panel time), or of the last of `days` days counting today."""
    if days is not None and (type(days) is not int or not 1 <= days <= MAX_EXPECTED_DAYS):
        raise ServiceError(_("Give a number of days from 1 to %(n)d.") % {"n": MAX_EXPECTED_DAYS},
                           code="invalid", fields={"days": [_("From 1 to %(n)d.")
                                                            % {"n": MAX_EXPECTED_DAYS}]})
    return _day_start(timezone.localdate(now) + ONE_DAY * (days or 1))


def mark_expected(*, actor, user: User, days: int | None = None, ip: str | None = None,
                  now=None) -> UsageBaseline:
    """Ops say the customer's current usage is expected (a migration, a backup): the alert
    resolves and none opens until the end of today, or of `days` days. Audited."""
    now = now or timezone.now()
    until = expected_until(days=days, now=now)
    with transaction.atomic():
        baseline, _created = UsageBaseline.objects.select_for_update().get_or_create(user=user)
        baseline.expected_until, baseline.updated_at = until, timezone.now()
        baseline.save(update_fields=["expected_until", "updated_at"])
        audit.record(actor=actor, action="traffic.usage_expected", target=user, ip=ip,
                     details={"until": until.isoformat()})
        monitoring.resolve_alert(type=AlertType.ABNORMAL_USAGE, target=user,
                                 note=f"marked expected until {until.isoformat()}")
    return baseline


def customer_of(alert: Alert) -> User:
    """The customer an abnormal-usage alert is about; any other alert is refused."""
    user = (User.objects.filter(pk=alert.target_id).first()
            if alert.type == AlertType.ABNORMAL_USAGE and alert.target_kind == TargetKind.CUSTOMER
            else None)
    if user is None:
        raise ServiceError(_("Only an abnormal-usage alert about a customer can be marked "
                             "expected."), code="not_abnormal_usage", status=409)
    return user
