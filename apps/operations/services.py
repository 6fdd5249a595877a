"""Operations: recorded with the change that asks for them, executed by workers, swept when lost.

- `enqueue` writes the row inside the caller's transaction and, once it commits, hints the broker
  (best-effort: a broker that is down never fails the caller; the sweeper sends it later).
- `execute` claims the row with a conditional update (queued and due, or running with an expired
  lease), runs the kind's handler while a heartbeat renews the lease, and finishes the row only
  while it still holds the claim. Handlers are idempotent against the real server state, so a
  second run after a lost worker finishes or undoes what the first left half-made.
- `sweep` re-sends what is queued but was never picked up and what a dead worker held (at
  once when the worker was a process of this host that no longer exists, else once its lease
  runs out).
"""

import dataclasses
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.audit import services as audit
from derpmgr import heartbeat
from derpmgr.errors import Conflict, ServiceError

from .models import ACTIVE_STATES, Operation, OperationKind, OperationState

logger = logging.getLogger(__name__)

# Kinds that may be stopped while running: they check for cancellation between safe steps.
CANCELLABLE_WHILE_RUNNING = frozenset({OperationKind.DRAIN, OperationKind.FAILOVER,
                                       OperationKind.PROBE, OperationKind.RECONCILE})


class RetryLater(Exception):
    """A handler's transient failure: run the operation again later (if attempts remain)."""

    def __init__(self, message: str, *, code: str = "retrying"):
        super().__init__(message)
        self.code = code


class Cancelled(Exception):
    """Raised by `Context.check_cancelled` at a safe point once a cancel was asked for."""


# --- Handlers --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Handler:
    run: Callable  # run(operation, context) -> dict (the result)
    # give_up(operation, error) is called once when the operation fails for good (attempts used
    # up, or a lost worker too often): undo what must not stay half-made.
    give_up: Callable | None = None


_handlers: dict[str, Handler] = {}


def handles(kind: str, *, give_up: Callable | None = None):
    """Register the function that performs operations of `kind` (apps do so at import)."""
    def register(run):
        _handlers[kind] = Handler(run=run, give_up=give_up)
        return run
    return register


def discover_handlers() -> None:
    """Import each app's `operations` module, where its handlers register (at start-up)."""
    from django.apps import apps

    for config in apps.get_app_configs():
        if config.name.startswith("apps."):
            try:
                __import__(f"{config.name}.operations")
            except ModuleNotFoundError as error:
                if error.name != f"{config.name}.operations":
                    raise


# --- Recording -------------------------------------------------------------------------------

def enqueue(kind: str, *, actor=None, args: dict | None = None, server=None, instance=None,
            customer=None, label: str = "", dedupe_key: str = "", max_attempts: int | None = None,
            countdown: int = 0) -> Operation:
    """Record work to do; it starts once the caller's transaction commits. With `dedupe_key`,
    an active operation with the same key is returned instead of a second one."""
    if instance is not None:
        server = server if server is not None else instance.server
        customer = customer if customer is not None else instance.user
    now = timezone.now()
    fields = dict(kind=kind, args=args or {}, requested_by=actor if _is_user(actor) else None,
                  server_id=getattr(server, "pk", None), instance_id=getattr(instance, "pk", None),
                  customer_id=getattr(customer, "pk", None), dedupe_key=dedupe_key,
                  target_label=(label or _label(server, instance, customer))[:200],
                  max_attempts=max_attempts or settings.OPERATION_MAX_ATTEMPTS,
                  not_before=now + timedelta(seconds=countdown), enqueued_at=now)
    with transaction.atomic():
        if dedupe_key:
            existing = Operation.objects.active().filter(dedupe_key=dedupe_key).first()
            if existing is not None:
                return existing
        try:
            with transaction.atomic():
                operation = Operation.objects.create(**fields)
        except IntegrityError:  # the same work was recorded a moment ago by someone else
            existing = Operation.objects.active().filter(dedupe_key=dedupe_key).first()
            if existing is None:
                raise
            return existing
    transaction.on_commit(lambda: send(operation.pk, countdown=countdown), robust=True)
    return operation


def request(kind: str, *, actor, ip: str | None = None, details: dict | None = None,
            **fields) -> Operation:
    """Work a principal asks for (pages, API, admin): the operation and its audit event in one
    transaction. With a `dedupe_key`, asking again while it is under way answers the same
    operation, and an active operation of another kind on the same thing refuses (one at a
    time)."""
    with transaction.atomic():
        operation = enqueue(kind, actor=actor, **fields)
        if operation.kind != kind:
            raise Conflict(_("Another operation (#%(id)d, %(kind)s) is under way here; wait for "
                             "it to finish.") % {"id": operation.pk,
                                                 "kind": operation.get_kind_display()},
                           code="operation_in_progress")
        audit.record(actor=actor, action="operations.requested", target=operation, ip=ip,
                     details={"kind": kind, **(details or {})})
    return operation


def _is_user(actor) -> bool:
    return actor is not None and getattr(actor, "pk", None) is not None and \
        getattr(actor, "is_authenticated", False)


def _label(server, instance, customer) -> str:
    if instance is not None:
        return str(instance)
    parts = [str(x) for x in (customer, getattr(server, "name", None)) if x is not None]
    return " @ ".join(parts)


def send(operation_id: int, *, countdown: int = 0) -> bool:
    """Hint the broker to run the operation now. Never raises: the row is the real record."""
    from .tasks import run_operation

    try:
        run_operation.apply_async((operation_id,), countdown=countdown or None, retry=False)
    except Exception as error:  # broker down or misconfigured: the sweeper sends it later
        logger.warning("operation %s not sent to the broker (%s); the sweeper will send it",
                       operation_id, type(error).__name__)
        return False
    return True


# --- Execution -------------------------------------------------------------------------------

class Context:
    """What a handler may do besides its work: report progress, see whether it is the last
    attempt, stop at a safe point when cancelled."""

    def __init__(self, operation: Operation, token: str):
        self.operation = operation
        self.token = token

    @property
    def actor(self):
        return self.operation.requested_by

    @property
    def final_attempt(self) -> bool:
        return self.operation.attempts >= self.operation.max_attempts

    def _mine(self):
        return Operation.objects.filter(pk=self.operation.pk, claim_token=self.token,
                                        state=OperationState.RUNNING)

    def progress(self, done: int, total: int, message: str = "") -> None:
        percent = 100 if total <= 0 else max(0, min(99, round(100 * done / total)))
        self._mine().update(progress=percent, progress_message=str(message)[:255],
                            lease_until=_lease_end(), updated_at=timezone.now())

    def check_cancelled(self) -> None:
        if Operation.objects.filter(pk=self.operation.pk, cancel_requested=True).exists():
            raise Cancelled()


def _lease_end():
    return timezone.now() + timedelta(seconds=settings.OPERATION_LEASE_SECONDS)


def _this_host() -> str:
    """This host and PID namespace: a process id means something only within both (two
    containers may share a host name, never a PID namespace)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}/{namespace}"


def worker_identity() -> str:
    """Who holds a claim: this host and process."""
    return f"{_this_host()}:{os.getpid()}"[:160]


def holder_is_dead(claimed_by: str) -> bool:
    """True if the claim's holder was a process on this host that no longer exists (killed):
    its operation need not wait for the lease to run out. Elsewhere, or alive, the lease rules."""
    host, _sep, pid = claimed_by.rpartition(":")
    if host != _this_host() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def _claimable(operation_id: int, now) -> Q:
    """Due and queued, held past its lease, or held by a process of this host that died."""
    condition = (Q(state=OperationState.QUEUED, not_before__lte=now)
                 | Q(state=OperationState.RUNNING, lease_until__lt=now))
    held = (Operation.objects.filter(pk=operation_id, state=OperationState.RUNNING)
            .values_list("claim_token", "claimed_by").first())
    if held is not None and holder_is_dead(held[1]):
        condition |= Q(state=OperationState.RUNNING, claim_token=held[0])
    return condition


def execute(operation_id: int) -> Operation | None:
    """Run the operation if it is due and nobody else holds it; None when there was nothing to
    do. Safe to call any number of times, from any number of workers."""
    token, now = uuid.uuid4().hex, timezone.now()
    claimed = Operation.objects.filter(pk=operation_id).filter(_claimable(operation_id, now)).update(
        state=OperationState.RUNNING, claim_token=token, claimed_by=worker_identity(),
        lease_until=_lease_end(), attempts=F("attempts") + 1,
        started_at=Coalesce("started_at", now), updated_at=now)
    if not claimed:
        return None
    operation = Operation.objects.select_related("requested_by").get(pk=operation_id)
    context = Context(operation, token)
    if operation.cancel_requested:
        return _finish(context, OperationState.CANCELLED)
    if operation.attempts > operation.max_attempts:  # the worker was lost on every attempt
        return _give_up(context, _("Gave up after %(n)d attempts: the worker running it was lost.")
                        % {"n": operation.max_attempts}, "worker_lost")
    handler = _handlers.get(operation.kind)
    if handler is None:  # written by a newer version of the panel, say
        return _finish(context, OperationState.FAILED, code="unknown_kind",
                       error=_("No worker here knows how to do this (%(kind)s).")
                       % {"kind": operation.kind})
    renew = context._mine().update
    # Progress and errors are read by whoever asked: written in their language.
    language = getattr(operation.requested_by, "language", None) or settings.LANGUAGE_CODE
    with heartbeat.kept_alive(lambda: renew(lease_until=_lease_end()),
                              every=settings.OPERATION_LEASE_SECONDS / 3,
                              name=f"operation {operation.pk}"), translation.override(language):
        try:
            result = handler.run(operation, context)
        except Cancelled:
            return _finish(context, OperationState.CANCELLED)
        except RetryLater as error:
            return _retry_or_give_up(context, str(error), error.code)
        except ServiceError as error:
            return _give_up(context, str(error.message), error.code)
        except Exception as error:
            from apps.servers.drivers import RemoteError

            if isinstance(error, RemoteError):
                if error.transient:
                    return _retry_or_give_up(context, str(error), error.code)
                return _give_up(context, str(error), error.code)
            logger.exception("operation %s (%s) failed unexpectedly", operation.pk, operation.kind)
            return _give_up(context, _("Unexpected error: %(type)s") % {"type": type(error).__name__},
                            "unexpected")
    return _finish(context, OperationState.DONE, result=result or {})


def _finish(context: Context, state: str, *, result: dict | None = None, error: str = "",
            code: str = "") -> Operation | None:
    now = timezone.now()
    changes = dict(state=state, finished_at=now, lease_until=None, updated_at=now, error=error,
                   error_code=code)
    if state == OperationState.DONE:
        changes.update(progress=100, result=result or {})
    if not context._mine().update(**changes):
        return None  # our claim was taken over (we were too slow): the other worker finishes
    return Operation.objects.get(pk=context.operation.pk)


def _retry_or_give_up(context: Context, error: str, code: str) -> Operation | None:
    operation = context.operation
    if context.final_attempt:
        return _give_up(context, error, code)
    delay = min(settings.OPERATION_RETRY_BASE_SECONDS * 2 ** (operation.attempts - 1), 300)
    now = timezone.now()
    if context._mine().update(state=OperationState.QUEUED, lease_until=None, claim_token="",
                              not_before=now + timedelta(seconds=delay), enqueued_at=now,
                              error=error[:4000], error_code=code[:40], updated_at=now):
        send(operation.pk, countdown=delay)
    return Operation.objects.get(pk=operation.pk)


def _give_up(context: Context, error: str, code: str) -> Operation | None:
    handler = _handlers.get(context.operation.kind)
    if handler is not None and handler.give_up is not None:
        try:
            handler.give_up(context.operation, error)
        except Exception:
            logger.exception("clean-up of operation %s failed", context.operation.pk)
    return _finish(context, OperationState.FAILED, error=error[:4000], code=code[:40])


# --- Sweeping --------------------------------------------------------------------------------

@dataclasses.dataclass
class SweepReport:
    requeued: list[int] = dataclasses.field(default_factory=list)
    expired_leases: list[int] = dataclasses.field(default_factory=list)


def sweep(*, limit: int = 500) -> SweepReport:
    """Send again what a lost message or a killed worker left: queued and due but not picked up
    for OPERATION_REQUEUE_SECONDS, or running with an expired lease or a dead holder."""
    now = timezone.now()
    report = SweepReport()
    stale = now - timedelta(seconds=settings.OPERATION_REQUEUE_SECONDS)
    report.requeued = list(Operation.objects.filter(
        state=OperationState.QUEUED, not_before__lte=now, enqueued_at__lt=stale)
        .order_by("id").values_list("id", flat=True)[:limit])
    running = Operation.objects.filter(state=OperationState.RUNNING).order_by("id")
    report.expired_leases = list(running.filter(lease_until__lt=now)
                                 .values_list("id", flat=True)[:limit])
    report.expired_leases += [  # held by processes of this host that were killed
        pk for pk, holder in running.filter(lease_until__gte=now).filter(
            claimed_by__startswith=f"{_this_host()}:").values_list("id", "claimed_by")[:limit]
        if holder_is_dead(holder)]
    ids = report.requeued + report.expired_leases
    if ids:
        Operation.objects.filter(pk__in=ids).update(enqueued_at=now)
        for operation_id in ids:
            send(operation_id)
        logger.info("sweeper re-sent %d queued and %d abandoned operations",
                    len(report.requeued), len(report.expired_leases))
    return report


def run_due(*, limit: int = 1000) -> int:
    """Execute due operations here and now, oldest first, until none is left (`manage.py
    run_operations`, and tests). Returns how many ran."""
    ran = 0
    while ran < limit:
        now = timezone.now()
        due = list(Operation.objects.filter(
            Q(state=OperationState.QUEUED, not_before__lte=now)
            | Q(state=OperationState.RUNNING, lease_until__lt=now)).order_by("id")
            .values_list("id", flat=True)[:50])
        if not due:
            break
        for operation_id in due:
            if execute(operation_id) is not None:
                ran += 1
            if not connection.in_atomic_block:
                close_old_connections()
    return ran


# --- Cancelling ------------------------------------------------------------------------------

def cancel(*, actor, operation: Operation, ip: str | None = None) -> Operation:
    """Cancel queued work at once; running work of a kind that can stop safely stops at its
    next safe point. Anything else is refused with the reason."""
    with transaction.atomic():
        now = timezone.now()
        cancelled_queued = Operation.objects.filter(
            pk=operation.pk, state=OperationState.QUEUED).update(
            state=OperationState.CANCELLED, cancel_requested=True, finished_at=now, updated_at=now)
        stopping = not cancelled_queued and operation.kind in CANCELLABLE_WHILE_RUNNING and \
            Operation.objects.filter(pk=operation.pk, state=OperationState.RUNNING).update(
                cancel_requested=True, updated_at=now)
        if not (cancelled_queued or stopping):
            operation.refresh_from_db(fields=["state"])
            if operation.state in ACTIVE_STATES:
                raise Conflict(_("This operation cannot be stopped safely while it runs; wait "
                                 "for it to finish."), code="not_cancellable")
            raise Conflict(_("This operation has already finished."), code="finished")
        audit.record(actor=actor, action="operations.cancelled", target=operation, ip=ip,
                     details={"kind": operation.kind})
    operation.refresh_from_db()
    return operation
