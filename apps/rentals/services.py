"""The rental's transitions: the only code that writes a rental's state or end date.

    none ──extend──▶ active ──end──▶ suspended ──end + grace──▶ deregistered
                       ▲  ◀──renew───────┘                          │
                       └───────────────renew───────────────────────┘

Every verb is one transaction: the state, the audit event, the e-mail (an outbox row) and the
relay work (an operation) commit together or not at all; the relays' admission answers are
invalidated once it commits. The servers follow by an operation (operations.py) that stops,
restarts, places or releases the customer's relays; it is retried until done, and the
lifecycle job sends it again for any rental whose relays are not yet in line.

The lifecycle job (`advance_due`) reads only rentals whose `next_event_at` has come (an index),
locks each with SKIP LOCKED so that two jobs at once share the work instead of doubling it, and
writes each reminder under a unique constraint: once per threshold per period, whatever runs.
"""

import datetime
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from apps.accounts.models import RentalState, Role, User
from apps.audit import services as audit
from apps.monitoring import services as monitoring
from apps.monitoring.models import AlertType, Severity
from apps.notifications import services as notifications
from derpmgr.errors import Conflict, NotFound, PermissionDenied, ServiceError

from .models import RelayIntent, Reminder, Rental

logger = logging.getLogger(__name__)

MAX_RENEWAL_DAYS = 3650


# --- The rental row --------------------------------------------------------------------------

def _locked(user: User) -> tuple[User, Rental]:
    """The user and their rental, both locked for this transaction (the rental made on first use)."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    rental = Rental.objects.select_for_update().filter(user=locked).first()
    if rental is None:
        try:
            with transaction.atomic():
                rental = Rental.objects.create(user=locked)
        except IntegrityError:  # made a moment ago by a concurrent first transition
            rental = Rental.objects.select_for_update().get(user=locked)
    return locked, rental


def rental_of(user: User) -> Rental:
    """The user's rental (defaults when none was ever recorded), for reading."""
    return Rental.objects.filter(user=user).first() or Rental(user=user)


def reminder_days() -> list[int]:
    return sorted({int(d) for d in settings.RENTAL_REMINDER_DAYS if int(d) > 0}, reverse=True)


def grace() -> timedelta:
    return timedelta(days=settings.RENTAL_DEREGISTER_AFTER_DAYS)


def _next_event(user: User, rental: Rental, now: datetime.datetime) -> datetime.datetime | None:
    """When the lifecycle job must next look at this rental."""
    end = user.rental_expiry
    if end is None:
        return None
    if user.rental_state == RentalState.ACTIVE:
        sent = set(Reminder.objects.filter(rental=rental, period=rental.period)
                   .values_list("days_before", flat=True))
        start = rental.period_started_at
        upcoming = [end - timedelta(days=days) for days in reminder_days()
                    if days not in sent and end - timedelta(days=days) > now
                    and (start is None or end - timedelta(days=days) > start)]
        return min([*upcoming, end])
    if user.rental_state == RentalState.SUSPENDED:
        return end + grace()
    return None


def _save(user: User, rental: Rental, *, now: datetime.datetime, user_fields=(),
          relays_changed: bool = True, invalidate: bool = True) -> None:
    """Write a transition: the user's fields, the rental's schedule and version, and (when the
    relays must follow) the relay work, with the admission cache invalidated on commit (unless
    the caller, the lifecycle job, invalidates a whole batch's users at once)."""
    from apps.acl import admission

    if user_fields:  # rental fields only: User.save's role-group sync has nothing to do here
        User.objects.filter(pk=user.pk).update(**{f: getattr(user, f) for f in user_fields})
    rental.next_event_at = _next_event(user, rental, now)
    if relays_changed:
        rental.version += 1
        rental.relays_settled = False
        rental.relays_note = ""
    rental.save()
    if invalidate:
        admission.invalidate_user_on_commit(user.pk)
    if relays_changed:
        request_relay_work(user=user, rental=rental)


def request_relay_work(*, user: User, rental: Rental | None = None, actor=None):
    """The operation that brings the user's relays in line with the rental (one at a time per
    customer: asking again while it is queued answers the same one, and a run that started
    under an older version goes round again)."""
    from apps.operations import services as operations
    from apps.operations.models import Operation, OperationKind, OperationState

    rental = rental or rental_of(user)
    setting_up = rental.relay_intent(user) == RelayIntent.RUN
    args = ({"servers": rental.servers, "pinned_ids": list(rental.pinned_server_ids)}
            if setting_up else {})
    operation = operations.enqueue(
        OperationKind.PROVISION if setting_up else OperationKind.RENTAL, actor=actor,
        customer=user, dedupe_key=relay_work_key(user.pk), args=args,
        max_attempts=settings.RENTAL_OPERATION_MAX_ATTEMPTS)
    if setting_up and operation.args != args:
        # Work queued before this transition (a plan with more relays bought meanwhile, say)
        # does what the rental promises now; work already running goes round again (version).
        Operation.objects.filter(pk=operation.pk, state=OperationState.QUEUED).update(args=args)
    return operation


def relay_work_key(user_id: int) -> str:
    # Shared with the operators' "set up relays" request: never two at once for one customer.
    return f"provision:user:{user_id}"


# --- Renewals --------------------------------------------------------------------------------

def _check_renewable(user: User) -> None:
    if user.deleted_at is not None:
        raise Conflict(_("This account has been deleted; it cannot be renewed."),
                       code="account_deleted")
    if user.role != Role.USER:
        raise Conflict(_("Only customer accounts rent relays."), code="not_a_customer")


def _renewed(user: User, rental: Rental, *, new_end: datetime.datetime, actor, via: str,
             ip: str | None, details: dict, now: datetime.datetime, email_context: dict) -> None:
    """The common end of every renewal: a new period, active again (unless an operator
    suspended it), the account back if deregistration closed it, audit and e-mail."""
    old_end, old_state = user.rental_expiry, user.rental_state
    first = old_state == RentalState.NONE
    user.rental_expiry = new_end
    fields = ["rental_expiry", "rental_state"]
    if old_state == RentalState.DEREGISTERED:
        user.is_active = True  # deregistration closed the account; the renewal opens it
        fields.append("is_active")
        rental.deregistered_at = None
    if not rental.suspended_by_hand:
        user.rental_state = RentalState.ACTIVE
        rental.suspended_at, rental.suspension_reason = None, ""
    elif old_state == RentalState.DEREGISTERED:
        user.rental_state = RentalState.SUSPENDED  # still held by the operators
    rental.period += 1
    rental.period_started_at = now
    _save(user, rental, now=now, user_fields=fields)
    audit.record(actor=actor, action="rentals.activated" if first else "rentals.renewed",
                 target=user, ip=ip,
                 details={"via": via, "from": old_end.isoformat() if old_end else None,
                          "to": new_end.isoformat(), "state_before": old_state,
                          "state": user.rental_state, **details})
    notifications.send_to_user(user=user,
                               template="activation-succeeded" if first else "renewal-succeeded",
                               context={**email_context, "expiry": new_end,
                                        "held": rental.suspended_by_hand,
                                        "reason": rental.suspension_reason})


def extend(*, user: User, days: int, actor, via: str, ip: str | None = None,
           details: dict | None = None, servers: int | None = None, pinned_ids=()) -> Rental:
    """Add `days` to the rental, from the later of now and its current end: code activation,
    plan purchase, an operator adding days. Runs inside the caller's transaction so that the
    payment and the extension commit together."""
    _check_days(days)
    with transaction.atomic():
        locked, rental = _locked(user)
        _check_renewable(locked)
        now = timezone.now()
        start = max(now, locked.rental_expiry) if locked.rental_expiry else now
        if servers:
            rental.servers = max(servers, rental.servers if locked.rental_state
                                 == RentalState.ACTIVE else 0)
        if pinned_ids:
            rental.pinned_server_ids = list(pinned_ids)
        _renewed(locked, rental, new_end=start + timedelta(days=days), actor=actor, via=via, ip=ip,
                 details={"days": days, **(details or {})}, now=now, email_context={"days": days})
    _copy(locked, user)
    return rental


def renew(*, user: User, actor, until=None, days=None, ip: str | None = None) -> Rental:
    """An operator's renewal: to an explicit end date (`until`, the last day of the rental in
    the panel's time zone, or an exact time), or by a number of days."""
    if (until in (None, "")) == (days in (None, "")):
        message = _("Give either an end date (until) or a number of days, not both.")
        raise ServiceError(message, code="invalid_renewal", fields={"until": [message]})
    if days not in (None, ""):
        return extend(user=user, days=_check_days(days), actor=actor, via="operator", ip=ip)
    new_end = parse_end(until)
    with transaction.atomic():
        locked, rental = _locked(user)
        _check_renewable(locked)
        now = timezone.now()
        _renewed(locked, rental, new_end=new_end, actor=actor, via="operator", ip=ip,
                 details={"until": new_end.isoformat()}, now=now, email_context={})
    _copy(locked, user)
    return rental


def _check_days(days) -> int:
    try:
        value = int(days)
    except (TypeError, ValueError):
        value = None
    if isinstance(days, bool) or value is None or str(value) != str(days).strip() \
            or not 1 <= value <= MAX_RENEWAL_DAYS:
        message = _("Days must be a whole number from 1 to %(max)d.") % {"max": MAX_RENEWAL_DAYS}
        raise ServiceError(message, code="invalid_days", fields={"days": [message]})
    return value


def parse_end(value) -> datetime.datetime:
    """The end of a rental from an ISO date (the rental runs through that day, in the panel's
    time zone) or an ISO date-time; it must lie in the future and within ten years."""
    if isinstance(value, datetime.datetime):
        end = value
    elif isinstance(value, datetime.date):
        end = _day_end(value)
    else:
        text = str(value).strip()
        end = None
        try:
            end = parse_datetime(text) if "T" in text or " " in text else None
            if end is None:
                day = parse_date(text)
                end = _day_end(day) if day else None
        except ValueError:
            end = None
        if end is None:
            message = _("Not a date: use YYYY-MM-DD.")
            raise ServiceError(message, code="invalid_date", fields={"until": [message]})
    if timezone.is_naive(end):
        end = timezone.make_aware(end)
    now = timezone.now()
    if end <= now:
        message = _("The end date must be in the future.")
        raise ServiceError(message, code="date_in_past", fields={"until": [message]})
    if end > now + timedelta(days=MAX_RENEWAL_DAYS):
        message = _("The end date is more than ten years away.")
        raise ServiceError(message, code="date_too_far", fields={"until": [message]})
    return end


def _day_end(day: datetime.date) -> datetime.datetime:
    if day > timezone.localdate() + timedelta(days=MAX_RENEWAL_DAYS):  # before the day after
        message = _("The end date is more than ten years away.")  # 9999-12-31 overflows
        raise ServiceError(message, code="date_too_far", fields={"until": [message]})
    following = datetime.datetime.combine(day + timedelta(days=1), datetime.time())
    return timezone.make_aware(following, timezone.get_default_timezone())


def _copy(source: User, target: User) -> None:
    for field in ("rental_state", "rental_expiry", "is_active"):
        setattr(target, field, getattr(source, field))


def suspension_message(user: User) -> str:
    """Why the customer's rental is suspended and what brings it back, in their words."""
    rental = rental_of(user)
    if rental.suspended_by_hand:
        return _("Your rental is suspended by the operators: %(reason)s. Your relays and "
                 "derpMap come back once it is resumed.") % {"reason": rental.suspension_reason}
    ended = (date_format(timezone.localtime(user.rental_expiry), "Y-m-d")
             if user.rental_expiry else "")
    return _("Your rental ended on %(date)s and is suspended: renew it (activate a code or buy "
             "a plan) and your relays and derpMap come back as they were.") % {"date": ended}


# --- Suspension and resumption by hand --------------------------------------------------------

def _check_reason(reason) -> str:
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        message = _("Say why: the customer sees the reason.")
        raise ServiceError(message, code="reason_required", fields={"reason": [message]})
    if len(reason) > 500:
        message = _("The reason is too long (500 characters at most).")
        raise ServiceError(message, code="reason_too_long", fields={"reason": [message]})
    return reason


def suspend(*, user: User, actor, reason: str, ip: str | None = None) -> Rental:
    """An operator stops a rental (abuse, non-payment): relays stopped, ports kept, the reason
    shown to the customer. The end date runs on."""
    reason = _check_reason(reason)
    with transaction.atomic():
        locked, rental = _locked(user)
        if locked.deleted_at is not None:
            raise Conflict(_("This account has been deleted."), code="account_deleted")
        if locked.rental_state not in (RentalState.ACTIVE, RentalState.SUSPENDED):
            raise Conflict(_("Only an active rental can be suspended."), code="not_active")
        if rental.suspended_by_hand:
            raise Conflict(_("This rental is already suspended by an operator."),
                           code="already_suspended")
        now = timezone.now()
        locked.rental_state = RentalState.SUSPENDED
        rental.suspended_at, rental.suspended_by_hand, rental.suspension_reason = now, True, reason
        _save(locked, rental, now=now, user_fields=["rental_state"])
        audit.record(actor=actor, action="rentals.suspended", target=locked, ip=ip,
                     details={"by_hand": True, "reason": reason})
        notifications.send_to_user(user=locked, template="rental-suspended",
                                   context={"reason": reason, "by_hand": True,
                                            "expiry": locked.rental_expiry})
    _copy(locked, user)
    return rental


def resume(*, user: User, actor, ip: str | None = None) -> Rental:
    """Lift an operator's suspension: active again if the rental has not ended meanwhile (else
    it stays suspended for the end, and a renewal brings it back)."""
    with transaction.atomic():
        locked, rental = _locked(user)
        if locked.deleted_at is not None:
            raise Conflict(_("This account has been deleted."), code="account_deleted")
        if not rental.suspended_by_hand:
            raise Conflict(_("This rental is not suspended by an operator."), code="not_suspended")
        now = timezone.now()
        rental.suspended_by_hand, rental.suspension_reason = False, ""
        if locked.rental_expiry and locked.rental_expiry > now:
            locked.rental_state, rental.suspended_at = RentalState.ACTIVE, None
        _save(locked, rental, now=now, user_fields=["rental_state"])
        audit.record(actor=actor, action="rentals.resumed", target=locked, ip=ip,
                     details={"state": locked.rental_state})
        notifications.send_to_user(user=locked, template="rental-resumed",
                                   context={"active": locked.rental_state == RentalState.ACTIVE,
                                            "expiry": locked.rental_expiry})
    _copy(locked, user)
    return rental


def set_account_active(*, actor, user: User, active: bool, ip: str | None = None) -> None:
    """Deactivate or reactivate an account (the admin's form): audited, the relays' answers
    invalidated, and a rental's relays stop (ports kept) or start again with it."""
    with transaction.atomic():
        locked, rental = _locked(user)
        if locked.deleted_at is not None and active:
            raise Conflict(_("This account has been deleted."), code="account_deleted")
        if locked.is_active == active:
            return
        locked.is_active = active
        if locked.rental_state == RentalState.NONE:
            User.objects.filter(pk=locked.pk).update(is_active=active)
            from apps.acl import admission

            admission.invalidate_user_on_commit(locked.pk)
        else:
            _save(locked, rental, now=timezone.now(), user_fields=["is_active"])
        audit.record(actor=actor, action="accounts.reactivated" if active else "accounts.deactivated",
                     target=locked, ip=ip)
    _copy(locked, user)


# --- Time passing ----------------------------------------------------------------------------

def _suspend_at_end(user: User, rental: Rental, now: datetime.datetime) -> None:
    user.rental_state = RentalState.SUSPENDED
    rental.suspended_at = now
    _save(user, rental, now=now, user_fields=["rental_state"], invalidate=False)
    audit.record(actor=None, action="rentals.suspended", target=user,
                 details={"by_hand": False, "ended": user.rental_expiry.isoformat()})
    notifications.send_to_user(user=user, template="rental-suspended",
                               context={"by_hand": False, "expiry": user.rental_expiry,
                                        "deregister_at": user.rental_expiry + grace()})


def _deregister(user: User, rental: Rental, now: datetime.datetime) -> None:
    """Thirty days after the end: relays removed and ports released, derpMaps and the feed URL
    destroyed, the account closed. Devices stay (a renewal binds them again); orders, ledger
    and audit stay for the books."""
    from apps.acl import services as acl

    user.rental_state = RentalState.DEREGISTERED
    user.is_active = False
    rental.deregistered_at = now
    rental.relays_missing = 0
    _save(user, rental, now=now, user_fields=["rental_state", "is_active"], invalidate=False)
    acl.destroy_all(user=user)
    audit.record(actor=None, action="rentals.deregistered", target=user,
                 details={"ended": user.rental_expiry.isoformat() if user.rental_expiry else None})
    notifications.send_to_user(user=user, template="rental-deregistered",
                               context={"expiry": user.rental_expiry})


def _remind(user: User, rental: Rental, now: datetime.datetime) -> None:
    """The reminder for the nearest threshold crossed in this period, once (a job that ran late
    sends only the most recent one; thresholds already past when the period began are
    skipped)."""
    end, start = user.rental_expiry, rental.period_started_at
    crossed = [days for days in reminder_days()
               if end - timedelta(days=days) <= now
               and (start is None or end - timedelta(days=days) > start)]
    if not crossed:
        return
    days = min(crossed)
    try:
        with transaction.atomic():
            Reminder.objects.create(rental=rental, period=rental.period, days_before=days,
                                    ends_at=end, sent_at=now)
    except IntegrityError:
        return  # sent already
    notifications.send_to_user(user=user, template="rental-reminder",
                               context={"days": days, "expiry": end})
    audit.record(actor=None, action="rentals.reminded", target=user,
                 details={"days_before": days, "period": rental.period})


def _due_and_free(rentals, now: datetime.datetime):
    """Due rentals with their users, locked; those another transaction holds are skipped, not
    waited for (a verb locks the user then the rental, so waiting for the user while holding the
    rental could deadlock)."""
    return (rentals.select_related("user").select_for_update(skip_locked=True, of=("self", "user"))
            .filter(next_event_at__lte=now))


def _step(rental: Rental, now: datetime.datetime) -> bool:
    """Do what is due for one locked rental (a reminder, the suspension at the end,
    deregistration); True when its relays' admission answers must be invalidated."""
    user = rental.user
    end = user.rental_expiry
    if user.rental_state == RentalState.ACTIVE and end is not None:
        # Ended a grace period ago before any job saw it (a rental older than this app, a
        # job down for weeks): straight to deregistration, one e-mail, not two at once.
        if end + grace() <= now:
            _deregister(user, rental, now)
            return True
        if end <= now:
            _suspend_at_end(user, rental, now)
            return True
        _remind(user, rental, now)
    elif user.rental_state == RentalState.SUSPENDED and end is not None \
            and end + grace() <= now:
        _deregister(user, rental, now)
        return True
    rental.next_event_at = _next_event(user, rental, now)
    rental.save(update_fields=["next_event_at", "updated_at"])
    return False


def advance(rental_id: int, *, now: datetime.datetime | None = None) -> bool:
    """Do what is due for one rental; False when another job holds it or it was not due after
    all."""
    from apps.acl import admission

    now = now or timezone.now()
    with transaction.atomic():
        rental = _due_and_free(Rental.objects.filter(pk=rental_id), now).first()
        if rental is None:
            return False
        if _step(rental, now):
            admission.invalidate_user_on_commit(rental.pk)
    return True


def advance_due(*, now: datetime.datetime | None = None, batch: int = 50) -> int:
    """The lifecycle job: every rental whose next event has come. Reads only those (an index),
    `batch` at a time: locked in one statement (SKIP LOCKED, so two jobs share the work), moved
    along in one transaction with a savepoint each (one failure costs one rental, not the run),
    and their relays' admission answers invalidated together once it commits. A batch is kept
    small because a verb on one of its customers waits for it."""
    from apps.acl import admission

    now = now or timezone.now()
    done, failed = 0, set()
    while True:
        with transaction.atomic():
            rentals = list(_due_and_free(Rental.objects.exclude(pk__in=failed), now)
                           .order_by("next_event_at")[:batch])
            if not rentals:
                return done
            changed = []
            for rental in rentals:
                try:
                    with transaction.atomic():
                        if _step(rental, now):
                            changed.append(rental.pk)
                    done += 1
                except Exception:  # one broken rental must not stop the others
                    logger.exception("rental %s: the lifecycle step failed", rental.pk)
                    failed.add(rental.pk)
            admission.invalidate_users_on_commit(changed)


# --- Relays following the rental --------------------------------------------------------------

def relays_in_line(user: User, rental: Rental) -> tuple[bool, int]:
    """(whether the relays do what the rental wants, how many promised relays are missing)."""
    from apps.containers.models import DerpInstance, InstanceStatus

    relays = DerpInstance.objects.filter(user=user)
    intent = rental.relay_intent(user)
    if intent == RelayIntent.NONE:
        return True, 0
    if intent == RelayIntent.RELEASE:
        return not relays.live().exists(), 0
    if intent == RelayIntent.STOP:  # a relay being moved runs until the move ends
        return not relays.filter(status__in=(InstanceStatus.RUNNING, InstanceStatus.PENDING,
                                             InstanceStatus.MIGRATING)).exists(), 0
    # A relay paused for its server's traffic quota is in line: it starts again when the quota
    # month resets, and is not a shortfall to place elsewhere meanwhile.
    running = relays.filter(Q(status__in=(InstanceStatus.RUNNING, InstanceStatus.MIGRATING))
                            | Q(status=InstanceStatus.STOPPED, paused_for_quota=True)).count()
    missing = max(0, rental.servers - running)
    return missing == 0, missing


def record_relays(*, user_id: int, version: int, note: str = "") -> Rental | None:
    """After relay work: whether the relays are in line and how many are missing, written only
    if no transition happened meanwhile (else the work goes round again)."""
    rental = Rental.objects.select_related("user").filter(pk=user_id).first()
    if rental is None:
        return None
    settled, missing = relays_in_line(rental.user, rental)
    Rental.objects.filter(pk=user_id, version=version).update(
        relays_settled=settled or missing > 0, relays_missing=missing, relays_note=note[:500],
        updated_at=timezone.now())
    _shortfall_alert(rental.user, short=missing > 0 if missing or settled else None, note=note,
                     missing=missing)
    return rental


def record_relay_trouble(*, user_id: int, version: int, note: str) -> None:
    """Relay work that will be tried again: ops see why on the rental meanwhile."""
    Rental.objects.filter(pk=user_id, version=version).update(
        relays_settled=False, relays_note=note[:500], updated_at=timezone.now())
    _shortfall_alert(User.objects.filter(pk=user_id).first(), short=True, note=note, trouble=True)


def _shortfall_alert(user: User | None, *, short: bool | None, note: str,
                     missing: int | None = None, trouble: bool = False) -> None:
    """The operators' alert about a customer short of relays (or whose relay work is in
    trouble): opened while it lasts, resolved once the relays are in line (short=False);
    short=None leaves it as it is."""
    if user is None or short is None:
        return
    if missing is None:
        missing = Rental.objects.filter(pk=user.pk).values_list("relays_missing", flat=True).first()
    values = {"user": user.username, "missing": missing or 0, "note": note[:300] or "-"}
    message = (_("Relay work for %(user)s failed and will be tried again: %(note)s") if trouble
               else _("%(user)s is short of %(missing)d relays: %(note)s")) % values
    monitoring.set_alert(condition=short, type=AlertType.SHORTFALL, target=user,
                         severity=Severity.WARNING, message=message,
                         details={"relays_missing": missing or 0, "note": note[:500]})


def relays_changed(*, user: User) -> None:
    """A relay of the user changed outside the rental's own work (failed, removed with its
    server, moved): the count of missing relays follows, and a relay running against the
    rental's will (a move that ended after a suspension, say) makes the rental's relay work
    pending again, for the lifecycle job to send."""
    rental = Rental.objects.filter(pk=user.pk).first()
    if rental is None:
        return
    settled, missing = relays_in_line(user, rental)
    out_of_line = not settled and not missing and rental.relays_settled
    if missing != rental.relays_missing or out_of_line:
        changes = {"relays_missing": missing}
        if out_of_line:
            changes["relays_settled"] = False
        Rental.objects.filter(pk=user.pk).update(**changes)


def send_pending_relay_work(*, limit: int = 1000) -> int:
    """The lifecycle job's other half: rentals whose relays are not yet in line (the work failed
    for good, or was lost) get it again: the intent of a transition is never dropped. Rentals
    whose work is under way are left out by the query itself, so they never hide the others."""
    from django.db.models import Exists, OuterRef

    from apps.operations.models import Operation, OperationKind

    under_way = Operation.objects.active().filter(
        customer_id=OuterRef("pk"), kind__in=(OperationKind.PROVISION, OperationKind.RENTAL))
    pending = list(Rental.objects.filter(relays_settled=False).exclude(Exists(under_way))
                   .select_related("user").order_by("pk")[:limit])
    sent = 0
    for rental in pending:
        settled, missing = relays_in_line(rental.user, rental)
        if settled or (missing and not _work_could_help(rental.user)):
            Rental.objects.filter(pk=rental.pk, version=rental.version).update(
                relays_settled=True, relays_missing=missing)
            continue
        with transaction.atomic():
            request_relay_work(user=rental.user, rental=rental)
        sent += 1
    return sent


def _work_could_help(user: User) -> bool:
    """Whether relay work could bring a short rental closer to its promise now: relays of its
    own to start again or finish on a healthy server, or a server that can take a new one."""
    from apps.containers import services as containers
    from apps.containers.models import DerpInstance, InstanceStatus
    from apps.servers.models import ServerStatus

    if DerpInstance.objects.filter(user=user, server__status=ServerStatus.HEALTHY, status__in=(
            InstanceStatus.STOPPED, InstanceStatus.PENDING), paused_for_quota=False).exists():
        return True
    return bool(containers.choose_servers(user=user, count=1))


def recover_shortfalls(*, limit: int = 1000) -> int:
    """Customers short of relays are set up again when some server can take one of theirs (a
    server was added or came back) or a relay of theirs can be started again: periodically and
    when capacity appears."""
    sent = 0
    for rental in Rental.objects.short_of_relays().select_related("user").order_by("pk")[:limit]:
        if not _work_could_help(rental.user):
            continue
        with transaction.atomic():
            request_relay_work(user=rental.user, rental=rental)
        sent += 1
    return sent


def capacity_appeared() -> None:
    """A server was added or came back: short rentals are retried once this commits."""
    from .tasks import recover_shortfalls_now

    transaction.on_commit(lambda: _send_quietly(recover_shortfalls_now), robust=True)


def _send_quietly(task) -> None:
    try:
        task.apply_async(retry=False)
    except Exception as error:  # the broker down: the periodic run does it
        logger.warning("could not send %s: %s", task.name, error)


# --- Deleting an account ----------------------------------------------------------------------

def unsettled_items(user: User) -> list[str]:
    """What keeps an account from being deleted: money or goods still open."""
    from apps.billing import services as billing
    from apps.billing.models import Commission, CommissionStatus, Order, OrderStatus, format_fen
    from apps.distribution.models import ActivationCode, CodeStatus

    items = []
    balance = billing.balance_of(user)
    if balance:
        items.append(_("The balance is %(amount)s, not zero (refund or use it first).")
                     % {"amount": format_fen(balance)})
    pending = Order.objects.filter(buyer=user, status=OrderStatus.PENDING).count()
    if pending:
        items.append(_("%(n)d order(s) are still pending.") % {"n": pending})
    commission = Commission.objects.filter(distributor=user, status=CommissionStatus.ACCRUED) \
        .aggregate(total=Sum("amount_fen"))["total"]
    if commission:
        items.append(_("Commission of %(amount)s is not settled.") % {"amount": format_fen(commission)})
    codes = ActivationCode.objects.filter(created_by=user, status=CodeStatus.UNUSED, paid=True).count()
    if codes:
        items.append(_("%(n)d paid activation code(s) they own are unused (revoke or refund them "
                       "first).") % {"n": codes})
    return items


def delete_user(*, actor: User, user: User, ip: str | None = None) -> User:
    """Delete an account whose finance is settled: derpMaps destroyed, relays released over SSH
    (retried until done), devices and sign-in means removed, a last e-mail, and the account
    anonymised; its orders, ledger and audit stay, pointing at the anonymised row."""
    from apps.acl import services as acl
    from apps.acl.models import Device

    if user.pk == actor.pk:
        raise Conflict(_("You cannot delete your own account."), code="cannot_delete_self")
    with transaction.atomic():
        locked, rental = _locked(user)
        if locked.deleted_at is not None:
            raise NotFound(_("This account has already been deleted."), code="account_deleted")
        if locked.role == Role.SUPERADMIN:
            if actor.role != Role.SUPERADMIN:
                raise PermissionDenied(_("Only a super admin can delete a super admin."))
            others = User.objects.select_for_update().filter(
                role=Role.SUPERADMIN, is_active=True, deleted_at__isnull=True).exclude(pk=locked.pk)
            if not others.exists():
                raise Conflict(_("This is the last super admin; it cannot be deleted."),
                               code="last_superadmin")
        items = unsettled_items(locked)
        if items:
            raise Conflict(_("The account cannot be deleted while finance is unsettled: %(items)s")
                           % {"items": " ".join(items)}, code="finance_unsettled",
                           fields={"unsettled": items})
        now = timezone.now()
        acl.destroy_all(user=locked, actor=actor, ip=ip)
        devices = Device.objects.filter(user=locked).delete()[0]
        notifications.send_to_user(user=locked, template="account-deleted", context={})
        former = {"email": locked.email, "username": locked.username, "role": locked.role}
        _anonymise(locked, now)
        rental.relays_missing = 0
        _save(locked, rental, now=now, user_fields=[
            "email", "username", "first_name", "last_name", "password", "is_active",
            "rental_state", "deleted_at", "email_verified"])
        audit.record(actor=actor, action="accounts.deleted", target=locked, ip=ip,
                     details={**former, "devices": devices})
    _copy(locked, user)
    return locked


def _anonymise(user: User, now: datetime.datetime) -> None:
    """Nothing personal stays, and nothing signs in again: sessions die with the password and
    the active flag (Django checks both on every request), tokens and MFA devices go."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from apps.accounts.models import ApiToken

    ApiToken.objects.filter(user=user).delete()
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user.email = f"deleted-{user.pk}@deleted.invalid"
    user.username = f"deleted-{user.pk}"
    user.first_name = user.last_name = ""
    user.set_unusable_password()
    user.is_active = False
    user.email_verified = False
    user.deleted_at = now
    if user.rental_state != RentalState.NONE:
        user.rental_state = RentalState.DEREGISTERED

