"""How the workers carry out relay and fleet operations (registered with apps.operations).

Each handler is idempotent against the real state: run again after a killed worker, it finds
what the earlier attempt made (relays carry the operation that made them) and finishes it.
"""

import dataclasses

from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.operations.models import Operation, OperationKind
from apps.operations.services import RetryLater, handles
from apps.servers.models import Server, ServerStatus
from derpmgr.errors import NotFound, ServiceError

from . import services
from .models import DerpInstance, InstanceStatus


def _instance(operation: Operation) -> DerpInstance:
    instance = (DerpInstance.objects.select_related("server", "user")
                .filter(pk=operation.instance_id).first())
    if instance is None:
        raise NotFound(_("The relay no longer exists."))
    return instance


def _server(server_id) -> Server:
    server = Server.objects.filter(pk=server_id).first()
    if server is None:
        raise NotFound(_("The server no longer exists."))
    return server


def abandon_pending(operation: Operation, error: str) -> None:
    """Given up for good: relays this operation left half-made are marked failed (reconcile
    removes their containers)."""
    DerpInstance.objects.filter(operation=operation, status=InstanceStatus.PENDING).update(
        status=InstanceStatus.ERROR, last_error=_("Setting this relay up was given up."))


# A customer's relays as a whole (OperationKind.PROVISION and RENTAL) follow their rental:
# apps/rentals/operations.py.


@handles(OperationKind.ALLOCATE, give_up=abandon_pending)
def allocate(operation: Operation, context) -> dict:
    user = User.objects.filter(pk=operation.customer_id).first()
    if user is None:
        raise NotFound(_("The customer no longer exists."))
    instance = services.allocate_instance(
        actor=context.actor, user=user, server=_server(operation.server_id),
        operation_id=operation.pk, final_attempt=context.final_attempt)
    Operation.objects.filter(pk=operation.pk).update(instance_id=instance.pk)
    if instance.status == InstanceStatus.PENDING:
        raise RetryLater(instance.last_error or _("The relay did not start yet."))
    if instance.status != InstanceStatus.RUNNING:
        raise ServiceError(
            _("The relay could not be started on %(server)s: %(why)s")
            % {"server": instance.server.name, "why": instance.last_error}, code="start_failed")
    return {"instance": instance.pk, "port": instance.port}


def _relay_verb(verb):
    def run(operation: Operation, context) -> dict:
        instance = verb(actor=context.actor, instance=_instance(operation))
        return {"instance": instance.pk, "status": instance.status}
    return run


handles(OperationKind.START)(_relay_verb(services.start_stopped_instance))
handles(OperationKind.STOP)(_relay_verb(services.stop_instance))
handles(OperationKind.RESTART)(_relay_verb(services.restart_instance))
handles(OperationKind.REMOVE)(_relay_verb(services.remove_instance))


@handles(OperationKind.MIGRATE,
         give_up=lambda operation, error: services.abandon_migration(operation.instance_id))
def migrate(operation: Operation, context) -> dict:
    target_id = operation.args.get("target_server_id")
    replacement = services.migrate_instance(
        actor=context.actor, instance=_instance(operation),
        target=_server(target_id) if target_id else None, operation_id=operation.pk,
        final_attempt=context.final_attempt)
    return {"instance": replacement.pk, "server": replacement.server_id, "port": replacement.port}


def _drain_result(report) -> dict:
    return {"moved": report.moved, "failed": {str(k): v for k, v in report.failed.items()}}


@handles(OperationKind.DRAIN)
def drain(operation: Operation, context) -> dict:
    report = services.drain_server(
        actor=context.actor, server=_server(operation.server_id),
        status=operation.args.get("status") or ServerStatus.DRAINING,
        progress=context.progress, check_cancelled=context.check_cancelled,
        avoid_ids=operation.args.get("avoid_ids") or ())
    return _drain_result(report)


@handles(OperationKind.FAILOVER)
def failover(operation: Operation, context) -> dict:
    reports = services.failover(actor=context.actor, progress=context.progress,
                                check_cancelled=context.check_cancelled)
    return {"servers": {str(pk): _drain_result(report) for pk, report in reports.items()}}


@handles(OperationKind.QUOTA)
def follow_quota(operation: Operation, context) -> dict:
    report = services.follow_quota(server=_server(operation.server_id), actor=context.actor)
    if report.errors:  # the sampling round asks again if this gives up
        raise RetryLater("; ".join(report.errors)[:2000], code="server_unreachable")
    return dataclasses.asdict(report)


@handles(OperationKind.RECONCILE)
def reconcile(operation: Operation, context) -> dict:
    report = services.reconcile_server(server=_server(operation.server_id), actor=context.actor)
    result = {**dataclasses.asdict(report), "changed": report.changed}
    if report.error:
        raise RetryLater(report.error, code="server_unreachable")
    return result
