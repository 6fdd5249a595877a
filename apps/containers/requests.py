"""Asking for relay and fleet work: what pages, the API and the admin call.

Each verb checks what can be checked without the server (the database's view), records the work
as an operation with an audit event in one transaction, and returns the operation; a worker
does the remote part. No verb here talks to a server.
"""

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts.models import User
from apps.audit import services as audit
from apps.operations import services as operations
from apps.operations.models import Operation, OperationKind
from apps.servers.models import Server, ServerStatus
from derpmgr.errors import Conflict

from . import services
from .models import DerpInstance, InstanceStatus


def _relay_key(instance: DerpInstance) -> str:
    return f"relay:{instance.pk}"


def _server_key(server: Server) -> str:
    return f"server:{server.pk}"


def provision(*, actor, user: User, servers: int, pinned_ids=(), ip: str | None = None) -> Operation:
    """Top a customer's relays up to `servers` (pinned servers first), restart stopped ones."""
    with transaction.atomic():
        operation = services.request_provisioning(user=user, servers=servers,
                                                  pinned_ids=pinned_ids, actor=actor)
        audit.record(actor=actor, action="operations.requested", target=operation, ip=ip,
                     details={"kind": operation.kind, "servers": servers,
                              "pinned": list(pinned_ids)})
    return operation


def allocate(*, actor, user: User, server: Server, ip: str | None = None) -> Operation:
    services.check_placeable(server)
    if DerpInstance.objects.live().filter(user=user, server=server).exists():
        raise Conflict(_("The user already has a relay on %(server)s.") % {"server": server.name},
                       code="already_placed")
    return operations.request(OperationKind.ALLOCATE, actor=actor, ip=ip, server=server,
                              customer=user, dedupe_key=f"allocate:{user.pk}:{server.pk}",
                              details={"server": server.pk, "user": user.pk})


_NEEDS = {
    OperationKind.STOP: ((InstanceStatus.RUNNING,), gettext_lazy("Only a running relay can be stopped.")),
    OperationKind.START: ((InstanceStatus.STOPPED,), gettext_lazy("Only a stopped relay can be started.")),
    OperationKind.RESTART: ((InstanceStatus.RUNNING, InstanceStatus.STOPPED),
                            gettext_lazy("Only a running or stopped relay can be restarted.")),
    OperationKind.REMOVE: ((InstanceStatus.PENDING, InstanceStatus.RUNNING, InstanceStatus.STOPPED,
                            InstanceStatus.REMOVING, InstanceStatus.ERROR),
                           gettext_lazy("This relay is already removed or being moved.")),
}


def relay_action(kind: str, *, actor, instance: DerpInstance, ip: str | None = None) -> Operation:
    """Start, stop, restart or remove one relay."""
    allowed, refusal = _NEEDS[kind]
    if instance.status not in allowed:
        raise Conflict(str(refusal), code="wrong_state")  # in the asker's language
    if instance.paused_for_quota and kind in (OperationKind.START, OperationKind.RESTART):
        raise Conflict(_("This relay is paused until its server's monthly traffic quota "
                         "resets."), code="paused_for_quota")
    return operations.request(kind, actor=actor, ip=ip, instance=instance,
                              dedupe_key=_relay_key(instance))


def stop_all(*, actor, user: User, ip: str | None = None) -> list[Operation]:
    with transaction.atomic():
        return [relay_action(OperationKind.STOP, actor=actor, instance=instance, ip=ip)
                for instance in DerpInstance.objects.select_related("server", "user")
                .filter(user=user, status=InstanceStatus.RUNNING)]


def migrate(*, actor, instance: DerpInstance, target: Server | None = None,
            ip: str | None = None) -> Operation:
    services.check_movable(instance, target)
    return operations.request(OperationKind.MIGRATE, actor=actor, ip=ip, instance=instance,
                              dedupe_key=_relay_key(instance),
                              args={"target_server_id": target.pk if target else None},
                              details={"target": target.pk if target else None})


def drain(*, actor, server: Server, ip: str | None = None) -> Operation:
    """The server takes no new relays from now on; a worker moves its relays elsewhere."""
    with transaction.atomic():
        operation = operations.request(OperationKind.DRAIN, actor=actor, ip=ip, server=server,
                                       dedupe_key=_server_key(server))
        if Server.objects.filter(pk=server.pk).exclude(status=ServerStatus.DRAINING).update(
                status=ServerStatus.DRAINING):
            audit.record(actor=actor, action="servers.draining", target=server, ip=ip,
                         details={"status": ServerStatus.DRAINING})
    return operation


def failover(*, actor, ip: str | None = None) -> Operation:
    return operations.request(OperationKind.FAILOVER, actor=actor, ip=ip, dedupe_key="failover",
                              label=_("unhealthy servers"))


def reconcile(*, actor, server: Server, ip: str | None = None,
              max_attempts: int | None = None) -> Operation:
    with transaction.atomic():
        operation = operations.enqueue(OperationKind.RECONCILE, actor=actor, server=server,
                                       dedupe_key=f"reconcile:{server.pk}",
                                       max_attempts=max_attempts)
        if actor is not None:
            audit.record(actor=actor, action="operations.requested", target=operation, ip=ip,
                         details={"kind": OperationKind.RECONCILE})
    return operation


def reconcile_all() -> list[Operation]:
    """The periodic reconcile: one attempt per server (the next period tries again)."""
    return [reconcile(actor=None, server=server, max_attempts=1)
            for server in Server.objects.exclude(status=ServerStatus.SETTING_UP)]
