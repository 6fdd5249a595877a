"""The relays follow the rental (registered with apps.operations).

One operation per customer at a time (a shared dedupe key) reads what the rental wants now and
does it: start or place relays for an active rental, stop them (ports kept) for a suspended one,
remove them (ports released) for a deregistered or deleted one. A transition made while it runs
bumps the rental's version, and the work goes round again with the new intent. A server that
cannot be reached keeps the intent: the operation retries, and the lifecycle job sends it again
if it ever gives up.
"""

import dataclasses

from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.containers import services as containers
from apps.containers.models import DerpInstance, InstanceStatus
from apps.containers.operations import abandon_pending
from apps.operations.models import Operation, OperationKind
from apps.operations.services import RetryLater, handles
from apps.servers.drivers import RemoteError
from derpmgr.errors import NotFound, ServiceError

from . import services
from .models import RelayIntent, Rental

MAX_ROUNDS = 3


def _each_relay(user: User, statuses, verb, context) -> tuple[list[int], list[str]]:
    """`verb` on each of the user's relays in `statuses`: (done ids, errors of the others)."""
    done, errors = [], []
    for instance in DerpInstance.objects.select_related("server", "user").filter(
            user=user, status__in=statuses):
        try:
            verb(actor=context.actor, instance=instance)
            done.append(instance.pk)
        except (RemoteError, ServiceError) as error:
            errors.append(f"{instance.server.name}: {error}")
    return done, errors


def _moving(user: User, then: str) -> list[str]:
    """A relay being moved belongs to its move until it ends; the work waits for it."""
    return [then] if DerpInstance.objects.filter(user=user,
                                                 status=InstanceStatus.MIGRATING).exists() else []


def _stop(user: User, rental: Rental, operation: Operation, context) -> tuple[dict, list[str]]:
    stopped, errors = _each_relay(user, (InstanceStatus.RUNNING,), containers.stop_instance, context)
    # Half-made relays of an earlier run would start admitting nobody: take them down for good.
    removed, more = _each_relay(user, (InstanceStatus.PENDING,), containers.remove_instance, context)
    return {"intent": RelayIntent.STOP, "stopped": stopped, "removed": removed}, errors + more + \
        _moving(user, _("a relay is being moved; it is stopped once the move ends"))


def _release(user: User, rental: Rental, operation: Operation, context) -> tuple[dict, list[str]]:
    removed, errors = _each_relay(
        user, (InstanceStatus.PENDING, InstanceStatus.RUNNING, InstanceStatus.STOPPED,
               InstanceStatus.REMOVING, InstanceStatus.ERROR), containers.remove_instance, context)
    return {"intent": RelayIntent.RELEASE, "removed": removed}, errors + \
        _moving(user, _("a relay is being moved; it is removed once the move ends"))


def _run(user: User, rental: Rental, operation: Operation, context) -> tuple[dict, list[str]]:
    report = containers.provision_rental(
        user_id=user.pk, servers=operation.args.get("servers") or rental.servers,
        pinned_ids=operation.args.get("pinned_ids") or rental.pinned_server_ids,
        actor=context.actor, operation_id=operation.pk, final_attempt=context.final_attempt)
    # A stopped relay whose server did not answer is not missing (its port is kept), but it
    # is not running either: the work is not done until it starts again.
    # (A relay paused for its server's traffic quota waits for the reset: not owed now.)
    not_restarted = DerpInstance.objects.filter(user=user, status=InstanceStatus.STOPPED,
                                                paused_for_quota=False).count()
    errors = []
    if report.failed:
        errors.append(_("%(n)d relay(s) could not be started yet; trying again.")
                      % {"n": len(report.failed)})
    if not_restarted:
        errors.append(_("%(n)d stopped relay(s) could not be started again yet; trying again.")
                      % {"n": not_restarted})
    return dataclasses.asdict(report), errors


def _leave_alone(user: User, rental: Rental, operation: Operation, context):
    return {"intent": RelayIntent.NONE}, []


_DO = {RelayIntent.NONE: _leave_alone, RelayIntent.STOP: _stop, RelayIntent.RELEASE: _release,
       RelayIntent.RUN: _run}


@handles(OperationKind.PROVISION, give_up=abandon_pending)
@handles(OperationKind.RENTAL, give_up=abandon_pending)
def follow_rental(operation: Operation, context) -> dict:
    user = User.objects.filter(pk=operation.customer_id).first()
    if user is None:
        raise NotFound(_("The customer no longer exists."))
    for _round in range(MAX_ROUNDS):
        rental = Rental.objects.filter(pk=user.pk).first() or Rental(user=user)
        user.refresh_from_db()
        intent = rental.relay_intent(user)
        result, errors = _DO[intent](user, rental, operation, context)
        still = Rental.objects.filter(pk=user.pk).values_list("version", flat=True).first()
        if still is None or still == rental.version:
            break  # no transition while this ran: what it did is what the rental wants
    if errors:
        services.record_relay_trouble(user_id=user.pk, version=rental.version,
                                      note="; ".join(errors))
        raise RetryLater("; ".join(errors)[:2000],
                         code="start_retrying" if intent == RelayIntent.RUN else "relays_not_in_line")
    missing = result.get("missing", 0)
    services.record_relays(user_id=user.pk, version=rental.version, note=_(
        "%(n)d relay(s) missing: no server can take them now.") % {"n": missing} if missing else "")
    if missing:
        # Not done: the shortfall is on the rental now, and the customer's page says so; the
        # shortfall job places them when a server has room.
        raise ServiceError(_("%(n)d relay(s) could not be set up: no server could take them, "
                             "or they failed to start for good.") % {"n": missing},
                           code="provision_incomplete")
    return result
