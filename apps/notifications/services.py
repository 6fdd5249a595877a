"""The e-mail outbox.

Requests and services only add rows (`send_email`, `send_to_user`); the `dispatch_outbox` task
claims due rows a batch at a time (EMAIL_BATCH_SIZE) and hands each batch to the transport over
one SMTP connection, batch after batch while mail is due. The seed's limit — at most
EMAIL_RATE_LIMIT_COUNT mails to one address in any EMAIL_RATE_LIMIT_WINDOW seconds — is a
sliding window over the moments rows took a sending slot, checked while holding the address's
`Recipient` row, so several workers cannot overrun it together.

Delivery is exactly once as far as SMTP allows: a worker holds its claimed rows under a lease it
renews while sending the batch (see lease.py) and records each row's outcome as soon as it is
sent; when a worker or the SMTP server dies after the data went through, the re-send carries the
row's own Message-ID, so the receiving side can drop the copy.
"""

import contextlib
import dataclasses
import logging
import math
import re
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
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
# A claimed row whose send begins later than this after its claim takes its slot and lease anew
# (below EMAIL_TIMEOUT, which one send may take anyway; a batch usually goes out well within it).
RESTAMP_AFTER = timedelta(seconds=10)


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


@dataclasses.dataclass
class _Claim:
    """A chunk of rows one worker holds under one claim token, in the order they go out; each
    row keeps (in memory) what it was before the claim, to be given back if it is not sent."""

    token: uuid.UUID
    claimed_at: datetime
    emails: list[OutboundEmail]


def _claim_chunk(size: int, report: DispatchReport) -> _Claim | None:
    """Take up to `size` due rows for sending, deferring those whose address has no slot free;
    None when nothing is due. Rows another worker holds are skipped, not waited for."""
    with transaction.atomic():
        rows = list(OutboundEmail.objects.select_for_update(skip_locked=True)
                    .due(timezone.now()).order_by("next_attempt_at", "id")[:size])
        if not rows:
            return None
        recipients = sorted({email.recipient_id for email in rows})
        # The addresses' locks, in id order (two workers sharing addresses never deadlock); then
        # the clock, so that slots and leases start after any wait for them.
        list(Recipient.objects.select_for_update().filter(pk__in=recipients).order_by("pk")
             .values_list("pk", flat=True))
        now = timezone.now()
        slots: dict[int, dict[int, datetime]] = defaultdict(dict)
        for recipient_id, email_id, slot_at in OutboundEmail.objects.filter(
                recipient_id__in=recipients, slot_at__gt=now - _window()).values_list(
                "recipient_id", "pk", "slot_at"):
            slots[recipient_id][email_id] = slot_at
        claimed, deferred = [], []
        for email in rows:
            # The row's own earlier slot (left by a lost worker) is not in its way: this claim
            # replaces it.
            taken = sorted((slot for pk, slot in slots[email.recipient_id].items()
                            if pk != email.pk), reverse=True)[:settings.EMAIL_RATE_LIMIT_COUNT]
            if len(taken) >= settings.EMAIL_RATE_LIMIT_COUNT:
                # The window frees when the oldest of the last COUNT slots ages out of it.
                email.status = EmailStatus.DEFERRED
                email.next_attempt_at = taken[-1] + _window()
                email.last_error = "rate limit: waiting for the recipient's window to free"
                deferred.append(email)
            else:
                slots[email.recipient_id][email.pk] = now
                claimed.append(email)
        if deferred:
            OutboundEmail.objects.bulk_update(deferred, ["status", "next_attempt_at", "last_error"])
            report.rate_limited += len(deferred)
        claim = _Claim(token=lease.new_token(), claimed_at=now, emails=claimed)
        OutboundEmail.objects.filter(pk__in=[email.pk for email in claimed]).update(
            status=EmailStatus.SENDING, slot_at=now, lease_until=now + lease.length(),
            claim_token=claim.token, attempts=F("attempts") + 1)
    return claim


def _start(email: OutboundEmail, claim: _Claim) -> bool:
    """Just before the row goes out: its slot and lease start now, not when the chunk was
    claimed (a chunk slowed down by a sluggish SMTP server would otherwise send under slots in
    the past, letting more mail into the window, and leases about to run out). False when
    another worker has taken the row over meanwhile."""
    now = timezone.now()
    if now - claim.claimed_at < RESTAMP_AFTER:
        return True
    return bool(lease.held(email.pk, claim.token).update(slot_at=now,
                                                         lease_until=now + lease.length()))


def _give_back(emails: list[OutboundEmail], claim: _Claim) -> None:
    """Rows of a claim that were never tried go back as they were, for the next run."""
    for email in emails:
        lease.held(email.pk, claim.token).update(
            status=email.status, next_attempt_at=email.next_attempt_at, slot_at=email.slot_at,
            attempts=email.attempts, lease_until=None, claim_token=None)


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
    try:  # the lease is kept alive by the chunk's heartbeat (_send_chunk)
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


@contextlib.contextmanager
def _not_waiting_for_the_disk():
    """A dispatch run's commits on PostgreSQL do not wait for their WAL to reach the disk
    (synchronous_commit off for this connection while the run lasts, then back): a send's
    outcome is committed once per e-mail, and waiting for an fsync each time would bound the
    outbox by the disk, not by SMTP. Other workers see every commit at once; only a crash of
    PostgreSQL itself could lose the last fraction of a second of them, and then those rows are
    sent again with their own Message-ID, as after a lost worker. (SQLite in WAL mode with
    synchronous=NORMAL does not sync a commit anyway.)"""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


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


def _send_chunk(claim: _Claim, transport, report: DispatchReport) -> None:
    untried = list(claim.emails)
    try:
        with lease.claim_kept_alive(claim.token):
            while untried:
                email = untried.pop(0)
                if not _start(email, claim):
                    continue  # taken over by another worker: its outcome is theirs
                email.claim_token = claim.token
                email.attempts += 1
                error = _deliver(email, transport, report)
                if error is not None and error.server_unavailable:
                    # A server that is down or hanging fails every row the same way (a hang
                    # costs EMAIL_TIMEOUT each): leave the rest queued for the next run.
                    report.stopped_early = True
                    return
    finally:
        with contextlib.suppress(DatabaseError):  # else their leases run out and free them
            _give_back(untried, claim)


def dispatch_outbox(*, batch: int | None = None, transport=None) -> DispatchReport:
    """Send what is due, for as long as anything is: `batch` rows (EMAIL_BATCH_SIZE) claimed at
    a time and sent over one SMTP connection. Safe to run in several workers at once and to run
    twice; the per-address limit holds across them."""
    size = batch or settings.EMAIL_BATCH_SIZE
    report = DispatchReport()
    release_stale_leases(timezone.now())
    transport = transport or DjangoMailTransport()
    with _not_waiting_for_the_disk():
        while not report.stopped_early:
            claim = _claim_chunk(size, report)
            if claim is None:
                break
            try:
                _send_chunk(claim, transport, report)
            finally:
                transport.close()  # one connection per batch
    return report
