"""Sending alert notifications to the channels: e-mail through the outbox, webhooks signed
with HMAC-SHA256 and retried with backoff. Only apps.monitoring.services calls `notify` and
`repeat_if_due`, inside the transaction that opened, refreshed or resolved the alert.

Each notification of an alert event through a channel is one `AlertDelivery` row, unique per
(alert, channel, event, sequence), so the same event is never queued twice. E-mail rows are done
once the outbox has the mail (the outbox keeps its 5-per-10-minutes rule by deferring, never by
dropping). Webhook rows are queued; `deliver_due` claims each with a conditional update (one
worker wins), posts it, and records SENT, a retry with backoff, or FAILED after
ALERT_WEBHOOK_MAX_ATTEMPTS. A SENT row is never claimed again. A worker lost mid-send leaves its
claim to expire (LEASE); the row is then taken up again and the receiver may see that delivery
id twice (X-Derpmgr-Delivery lets it drop the copy).

With no channel configured at all, alerts of warning severity and above are e-mailed to the
admins on duty (every active admin and super admin), with no delivery row: an installation
whose operators have not set anything up yet still hears about trouble. Disabling every channel
is how to silence alerts.
"""

import dataclasses
import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.accounts.models import STAFF_ROLES, User
from apps.notifications import services as outbox
from derpmgr.errors import ServiceError

from . import webhooks
from .models import (
    SEVERITY_RANK,
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertEvent,
    ChannelKind,
    DeliveryState,
    MonitoringSettings,
    Severity,
)

logger = logging.getLogger(__name__)

# Waits before the 2nd, 3rd … attempt of a webhook; the last one repeats.
BACKOFF = [timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1),
           timedelta(hours=3), timedelta(hours=6)]
# A claimed webhook row is left to its worker this long (several timeouts: connect, send, read).
LEASE = timedelta(minutes=2)
# Without any channel, the admins on duty are e-mailed from this severity up.
DEFAULT_MIN_SEVERITY = Severity.WARNING


# --- What is sent ----------------------------------------------------------------------------

def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def payload(alert: Alert, event: str) -> dict:
    """The webhook's JSON body."""
    return {
        "event": event,
        "alert": {
            "id": alert.pk, "type": alert.type, "severity": alert.severity,
            "target_kind": alert.target_kind, "target_id": alert.target_id,
            "target": alert.target_label, "server_id": alert.server_id,
            "message": alert.message, "details": alert.details,
            "opened_at": _iso(alert.opened_at), "resolved_at": _iso(alert.resolved_at),
        },
        "panel": settings.PANEL_URL,
    }


def email_context(alert: Alert, event: str, *, test: bool = False) -> dict:
    details = alert.details if isinstance(alert.details, dict) else {"details": alert.details}
    return {"alert": alert, "event": event, "test": test,
            "details": sorted((str(key), value) for key, value in details.items()),
            "link": f"{settings.PANEL_URL}/ops/alerts/{alert.pk}/"}


# --- Queueing (in the caller's transaction) --------------------------------------------------

def notify(alert: Alert, event: str) -> None:
    """Queue the notifications of this alert event, in the caller's transaction."""
    now = timezone.now()
    Alert.objects.filter(pk=alert.pk).update(notified_at=now, notifications=F("notifications") + 1)
    alert.refresh_from_db(fields=["notified_at", "notifications"])
    _fan_out(alert, event, sequence=alert.notifications - 1, now=now)


def repeat_if_due(alert: Alert) -> None:
    """Queue a reminder of a still-open alert when the repeat interval has passed. At most one
    per interval however many probe runs see the alert at once: the reminder is claimed by a
    conditional update of `notified_at`. An acknowledged alert is not repeated (someone is on it);
    its resolution is still notified."""
    if alert.resolved_at is not None or alert.acknowledged_at is not None:
        return
    now = timezone.now()
    interval = timedelta(minutes=MonitoringSettings.current().repeat_notification_minutes)
    claimed = (Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True,
                                    acknowledged_at__isnull=True)
               .filter(Q(notified_at__isnull=True) | Q(notified_at__lte=now - interval))
               .update(notified_at=now, notifications=F("notifications") + 1))
    if not claimed:
        return
    alert.refresh_from_db(fields=["notified_at", "notifications"])
    _fan_out(alert, AlertEvent.REPEATED, sequence=alert.notifications - 1, now=now)


def _fan_out(alert: Alert, event: str, *, sequence: int, now: datetime) -> None:
    if not AlertChannel.objects.exists():
        if SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[DEFAULT_MIN_SEVERITY]:
            _email(alert, event, admins_on_duty())
        return
    queued = []
    for channel in AlertChannel.objects.filter(enabled=True).order_by("pk"):
        if SEVERITY_RANK[channel.min_severity] > SEVERITY_RANK[alert.severity]:
            continue
        try:
            with transaction.atomic():
                row = AlertDelivery.objects.create(alert=alert, channel=channel, event=event,
                                                   sequence=sequence, next_attempt_at=now)
        except IntegrityError:  # this event was queued for this channel already
            continue
        if channel.kind == ChannelKind.EMAIL:
            _email_through(row, channel, now)
        else:
            queued.append(row.pk)
    if queued:
        transaction.on_commit(lambda: _enqueue(queued), robust=True)


# --- E-mail ----------------------------------------------------------------------------------

def admins_on_duty() -> list[str]:
    return list(User.objects.filter(role__in=STAFF_ROLES, is_active=True).exclude(email="")
                .order_by("pk").values_list("email", flat=True))


def recipients_of(channel: AlertChannel) -> list[str]:
    listed = [line.strip() for line in channel.recipients.splitlines() if line.strip()]
    return listed or admins_on_duty()


def _email(alert: Alert, event: str, addresses: list[str], *, test: bool = False) -> list[str]:
    """Queue one outbox e-mail per address (in the reader's language when the address is a
    user's); the addresses the outbox refused, with why."""
    languages = dict(User.objects.filter(email__in=addresses).values_list("email", "language"))
    refused = []
    for address in addresses:
        try:
            outbox.send_email(to=address, template="alert", language=languages.get(address),
                              context=email_context(alert, event, test=test))
        except ServiceError as error:
            refused.append(f"{address}: {error.message}")
    return refused


def _email_through(row: AlertDelivery, channel: AlertChannel, now: datetime) -> None:
    addresses = recipients_of(channel)
    refused = _email(row.alert, row.event, addresses)
    if addresses and len(refused) < len(addresses):
        row.state, row.sent_at = DeliveryState.SENT, now
    else:
        row.state = DeliveryState.FAILED
        refused = refused or ["no recipients: no active admin has an e-mail address"]
    row.attempts, row.last_error = 1, "; ".join(refused)[:2000]
    row.save(update_fields=["state", "sent_at", "attempts", "last_error"])


# --- Webhooks --------------------------------------------------------------------------------

def _enqueue(ids: list[int]) -> None:
    from .tasks import deliver_alerts

    try:
        deliver_alerts.apply_async(args=[ids], retry=False)
    except Exception as error:  # the broker is down: the periodic run sends them
        logger.warning("could not enqueue alert deliveries %s: %s", ids, error)


@dataclasses.dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    not_claimed: int = 0  # another worker had it, or it was no longer due


def max_attempts() -> int:
    return max(1, settings.ALERT_WEBHOOK_MAX_ATTEMPTS)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def _claimable(now: datetime) -> Q:
    queued = Q(state=DeliveryState.QUEUED, next_attempt_at__lte=now)
    lost = Q(state=DeliveryState.SENDING, lease_until__lt=now, attempts__lt=max_attempts())
    return queued | lost


def _give_up_on_lost(now: datetime) -> int:
    """Rows whose last allowed attempt died with its worker: failed, not sent again."""
    return AlertDelivery.objects.filter(
        state=DeliveryState.SENDING, lease_until__lt=now, attempts__gte=max_attempts()
    ).update(state=DeliveryState.FAILED, lease_until=None,
             last_error="the last attempt was lost with its worker")


def deliver_due(*, now: datetime | None = None, ids: list[int] | None = None,
                batch: int = 200) -> DeliveryReport:
    """Send the webhook deliveries that are due (only `ids`, if given). Safe to run in several
    workers at once and to run twice: each row is claimed by one of them."""
    now = now or timezone.now()
    report = DeliveryReport()
    _give_up_on_lost(now)
    due = AlertDelivery.objects.filter(channel__kind=ChannelKind.WEBHOOK).filter(_claimable(now))
    if ids is not None:
        due = due.filter(pk__in=ids)
    for pk in list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:batch]):
        attempt = _claim(pk, now)
        if attempt is None:
            report.not_claimed += 1
            continue
        _send(pk, attempt, now, report)
    return report


def _claim(pk: int, now: datetime) -> int | None:
    """Take the row for this worker: its attempt number (which also marks this claim), or None."""
    claimed = AlertDelivery.objects.filter(pk=pk).filter(_claimable(now)).update(
        state=DeliveryState.SENDING, lease_until=now + LEASE, attempts=F("attempts") + 1)
    if not claimed:
        return None
    return AlertDelivery.objects.values_list("attempts", flat=True).get(pk=pk)


def _send(pk: int, attempt: int, now: datetime, report: DeliveryReport) -> None:
    row = AlertDelivery.objects.select_related("alert", "channel").get(pk=pk)
    try:
        if not row.channel.enabled:
            raise webhooks.WebhookError("the channel was disabled before this was sent")
        status = webhooks.post(url=row.channel.url, secret=row.channel.secret(), event=row.event,
                               delivery_id=str(row.pk), payload=payload(row.alert, row.event))
    except webhooks.WebhookError as error:
        _failed(row, attempt, now, report, error=error.message, status=error.status,
                final=not row.channel.enabled)
    except Exception as error:  # a bug or an unreadable secret: recorded, never a crash loop
        logger.exception("alert delivery %s: unexpected failure", pk)
        _failed(row, attempt, now, report, error=f"{type(error).__name__}", status=None)
    else:
        if _finish(pk, attempt, state=DeliveryState.SENT, sent_at=now, response_status=status,
                   last_error=""):
            report.sent += 1


def _failed(row, attempt, now, report, *, error: str, status: int | None, final=False) -> None:
    if final or attempt >= max_attempts():
        if _finish(row.pk, attempt, state=DeliveryState.FAILED, response_status=status,
                   last_error=error[:2000]):
            report.failed += 1
        logger.warning("alert delivery %s failed for good after %s attempts: %s", row.pk,
                       attempt, error)
        return
    if _finish(row.pk, attempt, state=DeliveryState.QUEUED, response_status=status,
               last_error=error[:2000], next_attempt_at=now + backoff(attempt)):
        report.retried += 1


def _finish(pk: int, attempt: int, **outcome) -> bool:
    """Record the outcome if this worker's claim still holds the row."""
    return bool(AlertDelivery.objects.filter(pk=pk, state=DeliveryState.SENDING,
                                             attempts=attempt)
                .update(lease_until=None, **outcome))


# --- Trying a channel ------------------------------------------------------------------------

@dataclasses.dataclass
class TestResult:
    ok: bool
    response_status: int | None = None
    error: str = ""
    recipients: int = 0


def sample_alert() -> Alert:
    """An alert that exists only in the test notification."""
    now = timezone.now()
    return Alert(pk=0, type="test", severity=Severity.INFO, target_kind="fleet", target_id=0,
                 target_label="derpmgr", message="A test notification from derpmgr.",
                 details={}, opened_at=now, last_seen_at=now)


def send_test(channel: AlertChannel) -> TestResult:
    """Try the channel now: a webhook is posted at once (event "test"); e-mail is queued in the
    outbox for its recipients."""
    alert = sample_alert()
    if channel.kind == ChannelKind.EMAIL:
        addresses = recipients_of(channel)
        refused = _email(alert, "test", addresses, test=True)
        return TestResult(ok=bool(addresses) and not refused, error="; ".join(refused),
                          recipients=len(addresses) - len(refused))
    try:
        status = webhooks.post(url=channel.url, secret=channel.secret(), event="test",
                               delivery_id="test", payload=payload(alert, "test"))
    except webhooks.WebhookError as error:
        return TestResult(ok=False, response_status=error.status, error=error.message)
    return TestResult(ok=True, response_status=status)
