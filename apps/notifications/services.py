"""The e-mail outbox.

Requests and services only add rows (`send_email`, `send_to_user`); the `dispatch_outbox` task
claims due rows and hands them to the transport. The seed's limit — at most
EMAIL_RATE_LIMIT_COUNT mails to one address in any EMAIL_RATE_LIMIT_WINDOW seconds — is a
sliding window over the moments rows took a sending slot, checked while holding the address's
`Recipient` row, so several workers cannot overrun it together.

Delivery is exactly once as far as SMTP allows: a worker holds a claimed row under a lease it
renews while sending (see lease.py), and when a worker or the SMTP server dies after the data went
through, the re-send carries the row's own Message-ID, so the receiving side can drop the copy.
"""

import dataclasses
import logging
import math
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template import Context, engines
from django.template.loader import render_to_string
from django.utils import timezone, translation

from apps.audit import services as audit
from derpmgr.errors import RateLimited, ServiceError

from . import lease
from .models import DUE_STATUSES, EmailStatus, OutboundEmail, Recipient, UnreadableBody
from .transport import DjangoMailTransport, MailError

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)


def _window() -> timedelta:
    return timedelta(seconds=settings.EMAIL_RATE_LIMIT_WINDOW)


def normalise_address(address: str) -> str:
    return address.strip().lower()


def render_email(template: str, context: dict, language: str) -> tuple[str, str, str]:
    """Subject, text and HTML bodies from templates/emails/<template>-*.html.

    Subject and text body are plain text, rendered without HTML escaping ("Tom & Jerry" must not
    arrive as "Tom &amp; Jerry"); only the HTML body escapes what it inserts.
    """
    context = {"panel_url": settings.PANEL_URL, **context}
    with translation.override(language):
        subject = _render_plain_text(f"emails/{template}-subject.html", context)
        body_text = _render_plain_text(f"emails/{template}-body-text.html", context)
        body_html = render_to_string(f"emails/{template}-body-html.html", context)
    return " ".join(subject.split()), body_text.strip() + "\n", body_html


def _render_plain_text(name: str, context: dict) -> str:
    return engines["django"].engine.get_template(name).render(Context(context, autoescape=False))


def seconds_until_room(address: str, *, now: datetime | None = None) -> int:
    """0 if one more e-mail to `address` could leave now, else the seconds until it could.

    Mail already waiting in the outbox goes first: each waiting row takes the next slot the
    window frees, and a new e-mail would take the one after.
    """
    now = now or timezone.now()
    limit, window = settings.EMAIL_RATE_LIMIT_COUNT, _window()
    rows = OutboundEmail.objects.filter(recipient__address=normalise_address(address))
    slots = sorted(rows.filter(status__in=(EmailStatus.SENDING, EmailStatus.SENT),
                               slot_at__gt=now - window).values_list("slot_at", flat=True))
    waiting = rows.filter(status__in=DUE_STATUSES).count()
    for _mail in range(waiting + 1):
        # A mail fits once the limit-th most recent slot has left the window.
        slots.append(now if len(slots) < limit else max(now, slots[-limit] + window))
    wait = (slots[-1] - now).total_seconds()
    return math.ceil(wait) if wait > 0 else 0


def ensure_room(address: str) -> None:
    """For a user's own action (resend a link): refuse clearly instead of queueing more."""
    wait = seconds_until_room(address)
    if wait:
        raise RateLimited(wait)


def send_email(*, to: str, template: str, context: dict | None = None,
               language: str | None = None) -> OutboundEmail:
    """Queue one e-mail; it leaves when the transaction commits and the limit allows."""
    if not to or "@" not in to:
        raise ServiceError(f"Not an e-mail address: {to!r}", code="invalid_address")
    subject, body_text, body_html = render_email(
        template, context or {}, language or settings.LANGUAGE_CODE)
    recipient, _created = Recipient.objects.get_or_create(address=normalise_address(to))
    email = OutboundEmail.objects.create(recipient=recipient, to=to.strip(), template=template,
                                         subject=subject[:255], body_text=body_text,
                                         body_html=body_html)
    transaction.on_commit(_kick_dispatcher)
    return email


def send_to_user(*, user, template: str, context: dict | None = None) -> OutboundEmail:
    return send_email(to=user.email, template=template, language=user.language,
                      context={"user": user, **(context or {})})


def _kick_dispatcher():
    from .tasks import dispatch_outbox_now

    try:
        dispatch_outbox_now.delay()
    except Exception:  # the minutely beat run sends it anyway
        logger.warning("could not enqueue dispatch_outbox; the periodic run will send the mail",
                       exc_info=True)


def compose_to_user(*, actor, user, subject: str, message: str, ip: str | None = None):
    """An admin writes to a user (POST /api/notifications/send)."""
    with transaction.atomic():
        email = send_to_user(user=user, template="admin-message",
                             context={"subject": subject, "message": message, "sender": actor})
        audit.record(actor=actor, action="notifications.sent", target=user, ip=ip,
                     details={"email_id": email.pk, "subject": subject})
    return email


def send_test_email(*, actor, to: str, ip: str | None = None) -> OutboundEmail:
    with transaction.atomic():
        email = send_email(to=to, template="test", language=actor.language,
                           context={"sender": actor})
        audit.record(actor=actor, action="notifications.test_sent", ip=ip, details={"to": to})
    return email


# --- Dispatch ---------------------------------------------------------------------------------

@dataclasses.dataclass
class DispatchReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    rate_limited: int = 0
    lost_claims: int = 0  # sent, but another worker had taken the row over meanwhile
    stopped_early: bool = False


def _backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after the 1st, 2nd, 3rd … failed attempt, at most MAX_BACKOFF."""
    # The exponent is bounded: after a long outage 2**attempts minutes would overflow timedelta
    # and break every later dispatch run.
    return min(timedelta(minutes=2 ** min(max(0, attempts - 1), 20)), MAX_BACKOFF)


def release_stale_leases(now: datetime) -> int:
    """Rows a crashed worker held past its lease become due again.

    The row keeps its slot: the lost attempt may have reached the recipient, so the slot still
    counts for the address's other mail until the row's next claim replaces it.
    """
    return OutboundEmail.objects.filter(status=EmailStatus.SENDING, lease_until__lt=now).update(
        status=EmailStatus.DEFERRED, next_attempt_at=now, lease_until=None, claim_token=None,
        last_error="worker lost while sending; retrying")


def _claim(email_id: int, report: DispatchReport) -> OutboundEmail | None:
    """Take one due row for sending, or defer it if its address has no slot free."""
    with transaction.atomic():
        email = (OutboundEmail.objects.select_for_update(skip_locked=True)
                 .due(timezone.now()).filter(pk=email_id).first())
        if email is None:  # another worker has it, or it is no longer due
            return None
        Recipient.objects.select_for_update().filter(pk=email.recipient_id).first()
        # Read the clock now, not when the batch started: a batch slowed down by a sluggish SMTP
        # server would otherwise stamp slots in the past (letting more mail into the window) and
        # leases that have already run out (letting another worker send the row again).
        now = timezone.now()
        # The row's own earlier slot (left by a lost worker) is not in its way: this claim
        # replaces it.
        slots = list(
            OutboundEmail.objects.filter(recipient_id=email.recipient_id,
                                         slot_at__gt=now - _window())
            .exclude(pk=email.pk)
            .order_by("-slot_at").values_list("slot_at", flat=True)[:settings.EMAIL_RATE_LIMIT_COUNT]
        )
        if len(slots) >= settings.EMAIL_RATE_LIMIT_COUNT:
            # The window frees when the oldest of the last COUNT slots ages out of it.
            email.status = EmailStatus.DEFERRED
            email.next_attempt_at = slots[-1] + _window()
            email.last_error = "rate limit: waiting for the recipient's window to free"
            email.save(update_fields=["status", "next_attempt_at", "last_error"])
            report.rate_limited += 1
            return None
        email.status = EmailStatus.SENDING
        email.slot_at = now
        email.lease_until = now + lease.length()
        email.claim_token = lease.new_token()
        email.attempts = F("attempts") + 1
        email.save(update_fields=["status", "slot_at", "lease_until", "claim_token", "attempts"])
    email.refresh_from_db(fields=["attempts"])
    return email


_LINK = re.compile(r"\S+://\S+")


def _error_text(exc: MailError) -> str:
    """What the outbox keeps of a failure: a server that echoes the message back must not put a
    body's link where the admin shows it."""
    return _LINK.sub("[link]", str(exc))[:2000]


def _deliver(email: OutboundEmail, transport, report: DispatchReport) -> MailError | None:
    try:
        body_text, body_html = email.body_text, email.body_html
    except UnreadableBody as exc:  # sealed under a key since removed: no try can send it
        report.failed += _finish(email, report, status=EmailStatus.FAILED, slot_at=None,
                                 last_error=str(exc))
        logger.warning("e-mail %s not sent (permanent): %s", email.pk, exc)
        return None
    try:
        with lease.kept_alive(email.pk, email.claim_token):
            transport.send(to=email.to, subject=email.subject, body_text=body_text,
                           body_html=body_html, message_id=email.message_id)
    except MailError as exc:
        if exc.transient:
            report.deferred += _finish(
                email, report, status=EmailStatus.DEFERRED, slot_at=None, last_error=_error_text(exc),
                next_attempt_at=timezone.now() + _backoff(email.attempts))
        else:
            report.failed += _finish(email, report, status=EmailStatus.FAILED, slot_at=None,
                                     last_error=_error_text(exc))
        logger.warning("e-mail %s not sent (%s): %s", email.pk,
                       "will retry" if exc.transient else "permanent", _error_text(exc))
        return exc
    report.sent += _finish(email, report, status=EmailStatus.SENT, sent_at=timezone.now(),
                           last_error="")
    return None


def _finish(email: OutboundEmail, report: DispatchReport, **outcome) -> int:
    """Record how the send went (1) if this worker's claim still holds the row, else 0: a worker
    whose row was taken over must not overwrite what the new holder does with it."""
    finished = lease.held(email.pk, email.claim_token).update(lease_until=None, claim_token=None,
                                                              **outcome)
    if not finished:
        report.lost_claims += 1
        logger.warning("e-mail %s: another worker took it over during this send; the outcome "
                       "is left to that worker", email.pk)
    return finished


def dispatch_outbox(*, batch: int = 200, transport=None) -> DispatchReport:
    """Send what is due. Safe to run in several workers at once and to run twice."""
    now = timezone.now()
    report = DispatchReport()
    release_stale_leases(now)
    due_ids = list(OutboundEmail.objects.due(now).order_by("next_attempt_at", "id")
                   .values_list("id", flat=True)[:batch])
    transport = transport or DjangoMailTransport()
    try:
        for email_id in due_ids:
            email = _claim(email_id, report)
            if email is None:
                continue
            error = _deliver(email, transport, report)
            if error is not None and error.server_unavailable:
                # A server that is down or hanging fails every row the same way (a hang costs
                # EMAIL_TIMEOUT each): leave the rest queued for the next run.
                report.stopped_early = True
                break
    finally:
        transport.close()
    return report
