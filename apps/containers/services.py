"""Relays: placement, ports, provisioning, lifecycle, reconcile and migration.

Database first, then the server: a relay is a row (which reserves its port under a database
constraint) before it is a container, and a container that cannot be made is rolled back and
its row marked failed with the reason. Reconcile repairs whatever drift remains.
"""

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import Count, F, FloatField, Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import RentalState, User
from apps.audit import services as audit
from apps.monitoring import services as monitoring
from apps.monitoring.models import AlertType, Severity
from apps.servers.drivers import RemoteError
from apps.servers.models import Server, ServerStatus
from apps.servers.services import record_remote_failure
from derpmgr.errors import Conflict, ServiceError

from .engine import container_name, get_engine
from .models import LIVE_STATUSES, DerpInstance, InstanceStatus

logger = logging.getLogger(__name__)


class NoCapacity(ServiceError):
    status = 409  # the fleet's state refuses the request (a full server): the caller's 4xx
    code = "no_capacity"


# --- Placement and ports ---------------------------------------------------------------------

def placeable_servers(*, exclude_ids=()):
    """Healthy servers under their relay limit, least loaded (live relays / limit) first."""
    return (Server.objects.placeable().exclude(pk__in=exclude_ids)
            .annotate(live=Count("instances", filter=Q(instances__status__in=LIVE_STATUSES)))
            .filter(live__lt=F("max_containers"))
            .filter(Q(monthly_quota_bytes=0) | Q(traffic_month_bytes__lt=F("monthly_quota_bytes")))
            .annotate(load=Cast("live", FloatField()) / Cast("max_containers", FloatField()))
            .order_by("load", "live", "pk"))


def choose_servers(*, user: User, count: int, pinned_ids=(), avoid_ids=()) -> list[Server]:
    """`count` distinct servers for a user's relays: pinned ones first (if placeable), then the
    least loaded; never a server where the user already has a live relay, nor one of
    `avoid_ids` (servers recently unhealthy, when failing over)."""
    taken = set(DerpInstance.objects.live().filter(user=user).values_list("server_id", flat=True))
    candidates = list(placeable_servers(exclude_ids=taken | set(avoid_ids)))
    pinned = [s for s in candidates if s.pk in set(pinned_ids)]
    others = [s for s in candidates if s.pk not in set(pinned_ids)]
    return (pinned + others)[:count]


def _free_port(server: Server, host_used: set[int], also_excluded: set[int]) -> int | None:
    in_db = set(DerpInstance.objects.live().filter(server=server).values_list("port", flat=True))
    for port in range(server.port_range_start, server.port_range_end + 1):
        if port not in in_db and port not in host_used and port not in also_excluded:
            return port
    return None


def create_instance(*, user: User, server: Server, host_used: set[int] | None = None,
                    replaces: DerpInstance | None = None, operation_id: int | None = None
                    ) -> DerpInstance:
    """A pending relay row with the lowest port free in the database and on the host.

    The port is chosen under the server's row lock and inserted under the partial unique
    constraint, so concurrent allocations can never share a port; a lost race retries.
    """
    host_used = host_used if host_used is not None else get_engine().used_ports(server)
    excluded: set[int] = set()
    for _attempt in range(50):
        try:
            with transaction.atomic():
                Server.objects.select_for_update().filter(pk=server.pk).first()
                live = DerpInstance.objects.live().filter(server=server).count()
                if live >= server.max_containers:
                    raise NoCapacity(_("%(server)s is full.") % {"server": server.name})
                port = _free_port(server, host_used, excluded)
                if port is None:
                    raise NoCapacity(_("%(server)s has no free relay port.") % {"server": server.name})
                instance = DerpInstance.objects.create(user=user, server=server, port=port,
                                                       replaces=replaces, operation_id=operation_id)
                instance.container_name = container_name(instance)
                instance.save(update_fields=["container_name"])
                return instance
        except IntegrityError:
            if DerpInstance.objects.live().filter(server=server, user=user).exists():
                raise Conflict(_("The user already has a relay on %(server)s.")
                               % {"server": server.name}, code="already_placed") from None
            excluded.add(port)
    raise NoCapacity(_("Could not reserve a port on %(server)s.") % {"server": server.name})


# --- Provisioning ----------------------------------------------------------------------------

def request_provisioning(*, user: User, servers: int | None = None, pinned_ids=(),
                         actor=None):
    """Record that the user's relays must exist and run (in the caller's transaction: the
    payment and the work commit together); a worker does it once that commits."""
    from apps.operations import services as operations
    from apps.operations.models import OperationKind

    count = servers or settings.DEFAULT_SERVERS_PER_RENTAL
    return operations.enqueue(OperationKind.PROVISION, actor=actor, customer=user,
                              args={"servers": count, "pinned_ids": list(pinned_ids)},
                              dedupe_key=f"provision:user:{user.pk}")


@dataclasses.dataclass
class ProvisionReport:
    created: list[int] = dataclasses.field(default_factory=list)
    restarted: list[int] = dataclasses.field(default_factory=list)
    failed: list[int] = dataclasses.field(default_factory=list)  # still pending: retry these
    rolled_back: list[int] = dataclasses.field(default_factory=list)  # failed for good
    missing: int = 0


def provision_rental(*, user_id: int, servers: int, pinned_ids=(), actor=None,
                     ip: str | None = None, operation_id: int | None = None,
                     final_attempt: bool = False) -> ProvisionReport:
    """Idempotent: tops the user's live relays up to `servers`, restarts stopped ones, and
    finishes relays an earlier attempt left half-made (pending rows of this operation or of one
    that no longer runs). Each new relay is placed and started in a thread of its own (one per
    server), so the wait is that of the slowest server, not the sum. A relay that failed
    transiently stays pending for the next attempt (report.failed). Safe to run twice."""
    report = ProvisionReport()
    user = User.objects.filter(pk=user_id, rental_state=RentalState.ACTIVE, is_active=True).first()
    if user is None:
        return report
    engine = get_engine()
    for instance in DerpInstance.objects.select_related("server").filter(
            user=user, status=InstanceStatus.STOPPED):
        if _held_by_quota(instance):
            continue
        if _resume(instance, engine):
            report.restarted.append(instance.pk)
    tried: set[int] = set()  # servers that failed this user in this run: not asked again now
    for instance_id in _orphaned_pending(user, operation_id):
        if start_instance(instance_id=instance_id, final_attempt=final_attempt):
            report.created.append(instance_id)
        elif DerpInstance.objects.filter(pk=instance_id, status=InstanceStatus.PENDING).exists():
            report.failed.append(instance_id)
        else:
            report.rolled_back.append(instance_id)
            tried.add(DerpInstance.objects.values_list("server_id", flat=True).get(pk=instance_id))
    live = DerpInstance.objects.live().filter(user=user).count()
    need, placed = max(0, servers - live), []
    while need > 0:  # a server that cannot take the relay is replaced by the next best one
        chosen = [server for server in choose_servers(user=user, count=need + len(tried),
                                                      pinned_ids=pinned_ids)
                  if server.pk not in tried][:need]
        if not chosen:
            break
        tried.update(server.pk for server in chosen)
        for instance_id, ok in [outcome for outcome in _each_in_parallel(
                lambda server: _place_and_start(user, server, engine, operation_id, final_attempt),
                chosen) if outcome is not None]:
            placed.append((instance_id, ok))
            if ok:
                report.created.append(instance_id)
            elif DerpInstance.objects.filter(pk=instance_id, status=InstanceStatus.PENDING).exists():
                report.failed.append(instance_id)
            else:  # a permanent failure: rolled back already, nothing to retry
                report.rolled_back.append(instance_id)
                continue
            need -= 1
    report.missing = need
    if placed or report.missing or report.created:
        with transaction.atomic():
            audit.record(actor=actor, action="containers.provisioning", target=user, ip=ip,
                         details={"instances": [pk for pk, _ok in placed], "failed": report.failed,
                                  "missing": report.missing, "resumed": report.created})
    return report


def _orphaned_pending(user: User, operation_id: int | None) -> list[int]:
    """Pending relays of the user nobody is working on: made by this operation on an earlier
    attempt, or by an operation that has ended (its worker was killed, say)."""
    from apps.operations.models import ACTIVE_STATES, Operation

    pending = DerpInstance.objects.filter(user=user, status=InstanceStatus.PENDING)
    busy = Operation.objects.filter(state__in=ACTIVE_STATES).exclude(pk=operation_id)
    return list(pending.exclude(operation__in=busy).values_list("pk", flat=True))


def _place_and_start(user: User, server: Server, engine, operation_id: int | None = None,
                     final_attempt: bool = False) -> tuple[int, bool] | None:
    """Reserve a port on `server` (as the host sees it too) and start the relay there.
    None: the server could not take it (unreachable, full, or the user is there already)."""
    try:
        instance = create_instance(user=user, server=server, host_used=engine.used_ports(server),
                                   operation_id=operation_id)
    except RemoteError as error:
        record_remote_failure(server, error)
        return None
    except (NoCapacity, Conflict):
        return None
    return instance.pk, start_instance(instance_id=instance.pk, final_attempt=final_attempt)


def check_placeable(server: Server) -> None:
    """The server takes new relays now (healthy, under quota, not full), else a Conflict (or
    NoCapacity) saying why."""
    if server.status != ServerStatus.HEALTHY or (
            server.monthly_quota_bytes and server.traffic_month_bytes >= server.monthly_quota_bytes):
        raise Conflict(_("%(server)s takes no new relays now (%(status)s).")
                       % {"server": server.name, "status": server.get_status_display()},
                       code="server_not_placeable")
    if DerpInstance.objects.live().filter(server=server).count() >= server.max_containers:
        raise NoCapacity(_("%(server)s is full.") % {"server": server.name})


def allocate_instance(*, actor, user: User, server: Server, ip: str | None = None,
                      operation_id: int | None = None, final_attempt: bool = True) -> DerpInstance:
    """One relay for a user on a server the operator chose, started now. Run again by the same
    operation, it finishes the relay it made before instead of making a second."""
    instance = (DerpInstance.objects.filter(operation_id=operation_id, user=user, server=server)
                .exclude(status=InstanceStatus.REMOVED).first() if operation_id else None)
    if instance is None:
        check_placeable(server)
        try:
            instance = create_instance(user=user, server=server, operation_id=operation_id)
        except RemoteError as error:
            record_remote_failure(server, error)
            raise
        with transaction.atomic():
            audit.record(actor=actor, action="containers.allocated", target=instance, ip=ip,
                         details={"server": server.pk, "port": instance.port})
    if instance.status == InstanceStatus.PENDING:
        start_instance(instance_id=instance.pk, final_attempt=final_attempt)
    instance.refresh_from_db()
    return instance


def _each_in_parallel(work, items: list) -> list:
    """`work(item)` for each item, each in its own thread and database connection."""
    if len(items) <= 1 or connection.in_atomic_block:  # threads could not see the rows
        return [work(item) for item in items]

    def run(item):
        try:
            return work(item)
        finally:
            close_old_connections()
            connection.close()

    with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
        return list(pool.map(run, items))


def start_instance(*, instance_id: int, final_attempt: bool = True) -> bool:
    """Create and start a pending relay's container. On failure: if more attempts follow, the row
    stays pending (the task retries); on the final one the container is removed and the row
    marked failed with the reason. Returns True once running."""
    claimed = DerpInstance.objects.filter(
        pk=instance_id, status__in=(InstanceStatus.PENDING,)).update(attempts=F("attempts") + 1)
    if not claimed:
        return DerpInstance.objects.filter(pk=instance_id, status=InstanceStatus.RUNNING).exists()
    instance = DerpInstance.objects.select_related("server", "user").get(pk=instance_id)
    engine = get_engine()
    try:
        container_id = engine.run_relay(instance)
    except RemoteError as error:
        record_remote_failure(instance.server, error)
        if error.transient and not final_attempt:
            DerpInstance.objects.filter(pk=instance_id).update(last_error=str(error))
            return False
        _roll_back(instance, engine, error)
        return False
    updated = DerpInstance.objects.filter(pk=instance_id, status=InstanceStatus.PENDING).update(
        status=InstanceStatus.RUNNING, container_id=container_id, started_at=timezone.now(),
        last_error="")
    if not updated:  # removed while starting: take the container back
        _try(engine.remove, instance)
        return False
    _instances_changed(instance.user)
    return True


def _roll_back(instance: DerpInstance, engine, error: RemoteError) -> None:
    _try(engine.remove, instance)
    with transaction.atomic():
        DerpInstance.objects.filter(pk=instance.pk).update(status=InstanceStatus.ERROR,
                                                           last_error=str(error)[:2000])
        audit.record(actor=None, action="containers.provision_failed", target=instance,
                     details={"server": instance.server_id, "error": str(error)[:500]})
    _instances_changed(instance.user)  # one relay fewer than the rental promises


def _try(operation, *args) -> bool:
    try:
        operation(*args)
        return True
    except RemoteError as error:
        logger.warning("%s failed: %s (reconcile will retry)", operation.__name__, error)
        return False


def _resume(instance: DerpInstance, engine) -> bool:
    try:
        engine.start(instance)
    except RemoteError as error:
        DerpInstance.objects.filter(pk=instance.pk).update(last_error=str(error)[:2000])
        return False
    if DerpInstance.objects.filter(pk=instance.pk, status=InstanceStatus.STOPPED).update(
            status=InstanceStatus.RUNNING, started_at=timezone.now(), last_error=""):
        _instances_changed(instance.user)  # it admits the user's devices again
    return True


def _held_by_quota(instance: DerpInstance) -> bool:
    """A stopped relay on a server over its traffic quota waits for the quota month to reset
    (marked so, like the relays the quota stopped): the rental counts it as in line."""
    if instance.paused_for_quota:
        return True
    if instance.server.status != ServerStatus.OVER_QUOTA:
        return False
    DerpInstance.objects.filter(pk=instance.pk).update(paused_for_quota=True)
    return True


def _instances_changed(user: User) -> None:
    """A user's relays changed: the derpMap follows, and the rental counts what is missing."""
    from apps.acl import services as acl
    from apps.rentals import services as rentals

    acl.instances_changed(user=user)
    rentals.relays_changed(user=user)


def user_message(instance: DerpInstance) -> str:
    """The reason a relay failed, in words for its user (the details stay for the operators)."""
    if instance.status != InstanceStatus.ERROR:
        return ""
    return _("This relay could not be set up. The operators have been told and will move it "
             "to another server.")


# --- Operations ------------------------------------------------------------------------------

def _engine_step(server: Server, step, *args) -> None:
    """A remote step of an operation: a failure is kept on the server and goes up unchanged
    (the operation retries a transient one)."""
    try:
        step(*args)
    except RemoteError as error:
        record_remote_failure(server, error)
        raise


def stop_instance(*, actor, instance: DerpInstance, ip: str | None = None) -> DerpInstance:
    """Stop a running relay (idempotent: a relay already stopped stays so)."""
    if instance.status == InstanceStatus.STOPPED:
        return instance
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(_("Only a running relay can be stopped."), code="not_running")
    _engine_step(instance.server, get_engine().stop, instance)
    with transaction.atomic():
        if DerpInstance.objects.filter(pk=instance.pk, status=InstanceStatus.RUNNING).update(
                status=InstanceStatus.STOPPED, stopped_at=timezone.now()):
            audit.record(actor=actor, action="containers.stopped", target=instance, ip=ip)
    instance.refresh_from_db()
    _instances_changed(instance.user)  # its relay no longer admits anyone
    return instance


def start_stopped_instance(*, actor, instance: DerpInstance, ip: str | None = None) -> DerpInstance:
    """Start a stopped relay (idempotent: a running relay stays so)."""
    if instance.status == InstanceStatus.RUNNING:
        return instance
    if instance.status != InstanceStatus.STOPPED:
        raise Conflict(_("Only a stopped relay can be started."), code="not_stopped")
    _engine_step(instance.server, get_engine().start, instance)
    with transaction.atomic():
        if DerpInstance.objects.filter(pk=instance.pk, status=InstanceStatus.STOPPED).update(
                status=InstanceStatus.RUNNING, started_at=timezone.now(), last_error=""):
            audit.record(actor=actor, action="containers.started", target=instance, ip=ip)
    instance.refresh_from_db()
    _instances_changed(instance.user)  # it admits the user's devices again
    return instance


def restart_instance(*, actor, instance: DerpInstance, ip: str | None = None) -> DerpInstance:
    if instance.status == InstanceStatus.RUNNING:
        stop_instance(actor=actor, instance=instance, ip=ip)
    return start_stopped_instance(actor=actor, instance=instance, ip=ip)


def remove_instance(*, actor, instance: DerpInstance, ip: str | None = None) -> DerpInstance:
    """Take a relay down for good: its port is released once the container is gone. Run again
    after an interruption, it finishes the removal."""
    if instance.status == InstanceStatus.REMOVED:
        return instance
    DerpInstance.objects.filter(pk=instance.pk).update(status=InstanceStatus.REMOVING)
    try:
        _engine_step(instance.server, get_engine().remove, instance)
    except RemoteError as error:
        DerpInstance.objects.filter(pk=instance.pk).update(last_error=str(error)[:2000])
        raise
    with transaction.atomic():
        DerpInstance.objects.filter(pk=instance.pk).update(status=InstanceStatus.REMOVED,
                                                           stopped_at=timezone.now())
        audit.record(actor=actor, action="containers.removed", target=instance, ip=ip)
    instance.refresh_from_db()
    _instances_changed(instance.user)
    return instance


# --- Reconcile -------------------------------------------------------------------------------

@dataclasses.dataclass
class ReconcileReport:
    server: int
    started: list[str] = dataclasses.field(default_factory=list)
    stopped: list[str] = dataclasses.field(default_factory=list)
    removed_orphans: list[str] = dataclasses.field(default_factory=list)
    recreated: list[str] = dataclasses.field(default_factory=list)
    finished_removals: list[int] = dataclasses.field(default_factory=list)
    error: str = ""

    @property
    def changed(self) -> bool:
        return any((self.started, self.stopped, self.removed_orphans, self.recreated,
                    self.finished_removals))


def reconcile_server(*, server: Server, actor=None) -> ReconcileReport:
    """Make the server's containers match the database (by label): start what should run, stop
    what should not, remove orphans, re-create the missing. Safe to run any time."""
    report = ReconcileReport(server=server.pk)
    engine = get_engine()
    try:
        found = engine.list_relays(server)
        containers = {c.instance_id: c for c in found if c.instance_id is not None}
        wanted = {i.pk: i for i in DerpInstance.objects.select_related("server", "user")
                  .filter(server=server, status__in=(InstanceStatus.RUNNING, InstanceStatus.STOPPED,
                                                     InstanceStatus.MIGRATING))}
        # A pending relay's container is being made (or retried) by start_instance: not an orphan.
        starting = set(DerpInstance.objects.filter(server=server, status=InstanceStatus.PENDING)
                       .values_list("pk", flat=True))
        for container in found:  # unlabelled leftovers (no instance id) are orphans too
            if container.instance_id not in wanted and container.instance_id not in starting:
                engine.remove_by_name(server, container.name)
                report.removed_orphans.append(container.name)
                containers.pop(container.instance_id, None)  # gone: its removal finishes below
        for instance in wanted.values():
            container = containers.get(instance.pk)
            should_run = instance.status in (InstanceStatus.RUNNING, InstanceStatus.MIGRATING)
            if container is None and should_run:
                DerpInstance.objects.filter(pk=instance.pk).update(
                    container_id=engine.run_relay(instance), started_at=timezone.now())
                report.recreated.append(instance.container_name)
            elif container is not None and should_run and not container.running:
                engine.start(instance)
                report.started.append(container.name)
            elif container is not None and not should_run and container.running:
                engine.stop(instance)
                report.stopped.append(container.name)
        for instance in DerpInstance.objects.filter(server=server, status=InstanceStatus.REMOVING):
            if instance.pk not in containers:
                DerpInstance.objects.filter(pk=instance.pk).update(status=InstanceStatus.REMOVED)
                report.finished_removals.append(instance.pk)
    except RemoteError as error:
        record_remote_failure(server, error)
        report.error = str(error)
    if report.changed:
        with transaction.atomic():
            audit.record(actor=actor, action="containers.reconciled", target=server,
                         details=dataclasses.asdict(report))
    if report.changed or not report.error:  # drift found (and fixed), or none: ops hear of it
        monitoring.set_alert(condition=report.changed, type=AlertType.RECONCILE_DRIFT,
                             target=server, severity=Severity.WARNING,
                             message=_("Reconcile found drift on %(server)s (see the details).")
                             % {"server": server.name}, details=dataclasses.asdict(report))
    return report


# --- Migration -------------------------------------------------------------------------------

def check_movable(instance: DerpInstance, target: Server | None, avoid_ids=()) -> None:
    """What a move needs before it is asked for: a running or stopped relay, a target that is
    another server taking new relays (or, with none named, some server that does)."""
    if instance.status not in (InstanceStatus.RUNNING, InstanceStatus.STOPPED):
        raise Conflict(_("Only a running or stopped relay can be moved."), code="not_movable")
    if target is None:
        if not choose_servers(user=instance.user, count=1, avoid_ids=avoid_ids):
            raise NoCapacity(_("No other server can take this relay now."))
    elif target.pk == instance.server_id:
        raise ServiceError(_("The relay is already on that server."), code="same_server")
    elif not placeable_servers().filter(pk=target.pk).exists():
        raise NoCapacity(_("%(server)s takes no new relays now (unhealthy, full or over "
                           "quota).") % {"server": target.name})


def migrate_instance(*, actor, instance: DerpInstance, target: Server | None = None,
                     ip: str | None = None, operation_id: int | None = None,
                     final_attempt: bool = True, avoid_ids=()) -> DerpInstance:
    """Make-before-break: a new relay on the target, then the old one removed. If the target
    fails, the source keeps running untouched. Run again by the same operation after an
    interruption, it carries on with the replacement it made before. With no target named, the
    least loaded placeable server that is not one of `avoid_ids`."""
    replacement = (DerpInstance.objects.live().filter(replaces=instance, operation_id=operation_id)
                   .first() if operation_id else None)
    with transaction.atomic():
        source = DerpInstance.objects.select_for_update().select_related("server", "user") \
            .filter(pk=instance.pk).first()
        if source is None:
            raise Conflict(_("Only a running or stopped relay can be moved."), code="not_movable")
        if replacement is None:
            check_movable(source, target, avoid_ids)
            previous_status = source.status
            DerpInstance.objects.filter(pk=source.pk).update(status=InstanceStatus.MIGRATING,
                                                             status_before_move=previous_status)
        else:
            previous_status = source.status_before_move or InstanceStatus.RUNNING
    engine = get_engine()
    if replacement is None:
        target = target or (choose_servers(user=source.user, count=1, avoid_ids=avoid_ids)
                            or [None])[0]
        try:
            if target is None:
                raise NoCapacity(_("No other server can take this relay now."))
            replacement = create_instance(user=source.user, server=target, replaces=source,
                                          operation_id=operation_id)
        except (RemoteError, NoCapacity, Conflict):
            _back_to(source, previous_status)
            raise
    if replacement.status == InstanceStatus.PENDING and not start_instance(
            instance_id=replacement.pk, final_attempt=final_attempt):
        replacement.refresh_from_db()
        if replacement.status == InstanceStatus.PENDING:  # transient: the operation tries again
            raise RemoteError(replacement.last_error or "the target did not start the relay",
                              transient=True)
        _back_to(source, previous_status)
        raise ServiceError(_("The target server could not start the relay; it stays where it "
                             "was. (%(why)s)") % {"why": replacement.last_error},
                           code="migration_failed", status=502)
    if previous_status == InstanceStatus.STOPPED and _try(engine.stop, replacement):
        DerpInstance.objects.filter(pk=replacement.pk).update(  # a stopped relay moves stopped
            status=InstanceStatus.STOPPED, stopped_at=timezone.now())
    removed = _try(engine.remove, source)
    with transaction.atomic():
        DerpInstance.objects.filter(pk=source.pk).update(
            status=InstanceStatus.REMOVED if removed else InstanceStatus.REMOVING,
            stopped_at=timezone.now())
        audit.record(actor=actor, action="containers.migrated", target=replacement, ip=ip,
                     details={"from_server": source.server_id, "to_server": replacement.server_id,
                              "old_instance": source.pk, "old_port": source.port,
                              "new_port": replacement.port})
        _notify_moved(source.user, replacement)
    replacement.refresh_from_db()
    _instances_changed(source.user)
    return replacement


def _back_to(source: DerpInstance, status: str) -> None:
    DerpInstance.objects.filter(pk=source.pk, status=InstanceStatus.MIGRATING).update(
        status=status, status_before_move="")


def abandon_migration(instance_id: int) -> None:
    """A move given up for good: the source goes back to what it was; a replacement that never
    started is marked failed (reconcile removes its leftovers)."""
    source = DerpInstance.objects.filter(pk=instance_id, status=InstanceStatus.MIGRATING).first()
    if source is None:
        return
    DerpInstance.objects.filter(replaces=source, status=InstanceStatus.PENDING).update(
        status=InstanceStatus.ERROR, last_error="the move was given up")
    _back_to(source, source.status_before_move or InstanceStatus.RUNNING)


def _notify_moved(user: User, replacement: DerpInstance) -> None:
    from apps.notifications import services as notifications

    notifications.send_to_user(user=user, template="relay-moved",
                               context={"server": replacement.server.name,
                                        "port": replacement.port})


@dataclasses.dataclass
class DrainReport:
    moved: list[int] = dataclasses.field(default_factory=list)
    failed: dict[int, str] = dataclasses.field(default_factory=dict)


def drain_server(*, actor, server: Server, status: str = ServerStatus.DRAINING,
                 ip: str | None = None, progress=None, check_cancelled=None,
                 avoid_ids=()) -> DrainReport:
    """Move every relay off a server (it takes no new ones meanwhile), to servers other than
    `avoid_ids`. `progress(done, total, message)` and `check_cancelled()` come from the
    operation running it."""
    with transaction.atomic():
        if Server.objects.filter(pk=server.pk).exclude(status=status).update(status=status):
            audit.record(actor=actor, action="servers.draining", target=server, ip=ip,
                         details={"status": status})
    report = DrainReport()
    relays = list(DerpInstance.objects.select_related("server", "user").filter(
        server=server, status__in=(InstanceStatus.RUNNING, InstanceStatus.STOPPED,
                                   InstanceStatus.MIGRATING)))
    for done, instance in enumerate(relays):
        if check_cancelled is not None:
            check_cancelled()
        if progress is not None:
            progress(done, len(relays), _("Moving relay %(n)d of %(total)d")
                     % {"n": done + 1, "total": len(relays)})
        if instance.status == InstanceStatus.MIGRATING:  # an interrupted move: undo, then redo
            abandon_migration(instance.pk)
            instance.refresh_from_db()
        try:
            report.moved.append(migrate_instance(actor=actor, instance=instance, ip=ip,
                                                 avoid_ids=avoid_ids).pk)
        except ServiceError as error:
            report.failed[instance.pk] = str(error.message)
        except RemoteError as error:
            report.failed[instance.pk] = str(error)
    return report


def failover(*, actor, ip: str | None = None, progress=None,
             check_cancelled=None) -> dict[int, DrainReport]:
    """Move the relays of every server marked unhealthy (POST /api/ha/failover)."""
    return {server.pk: drain_server(actor=actor, server=server, status=ServerStatus.UNHEALTHY,
                                    ip=ip, progress=progress, check_cancelled=check_cancelled)
            for server in Server.objects.filter(status=ServerStatus.UNHEALTHY)
            if DerpInstance.objects.live().filter(server=server).exists()}


# --- Traffic quota (apps.traffic.quota decides; these do the relays' part) --------------------

def pause_for_quota(*, server: Server) -> list[int]:
    """The server went over its monthly quota: its running relays are marked paused (in the
    caller's transaction, with the status change) and a QUOTA operation stops them (ports and
    containers stay). Returns the ids of the customers affected."""
    running = DerpInstance.objects.filter(server=server, status=InstanceStatus.RUNNING)
    users = sorted(set(running.values_list("user_id", flat=True)))
    running.update(paused_for_quota=True)
    request_quota_work(server=server)
    return users


def resuming_customers(*, server: Server) -> list[int]:
    """The customers whose relays on the server the quota paused and whose relays may run:
    those the reset gives their relays back to."""
    paused = DerpInstance.objects.select_related("user").filter(
        server=server, paused_for_quota=True, status__in=(InstanceStatus.STOPPED,
                                                          InstanceStatus.RUNNING))
    return sorted({instance.user_id for instance in paused if _may_run(instance.user)})


def request_quota_work(*, server: Server):
    """The operation that makes the server's paused relays follow its quota (one at a time per
    server; asked again while queued, the same one answers)."""
    from apps.operations import services as operations
    from apps.operations.models import OperationKind

    return operations.enqueue(OperationKind.QUOTA, server=server,
                              dedupe_key=f"quota:server:{server.pk}")


def quota_holds(server: Server) -> bool:
    """Whether the server's paused relays must stay stopped: over quota by status or figures."""
    return server.status == ServerStatus.OVER_QUOTA or bool(
        server.monthly_quota_bytes and server.traffic_month_bytes >= server.monthly_quota_bytes)


def quota_out_of_line(server: Server) -> bool:
    """Whether the paused relays do not yet do what the quota wants (the QUOTA work is owed)."""
    paused = DerpInstance.objects.filter(server=server, paused_for_quota=True)
    if quota_holds(server):
        return paused.filter(status=InstanceStatus.RUNNING).exists()
    return paused.exists()


@dataclasses.dataclass
class QuotaReport:
    stopped: list[int] = dataclasses.field(default_factory=list)
    started: list[int] = dataclasses.field(default_factory=list)
    released: list[int] = dataclasses.field(default_factory=list)  # left stopped: not wanted
    errors: list[str] = dataclasses.field(default_factory=list)


def follow_quota(*, server: Server, actor=None) -> QuotaReport:
    """The QUOTA operation: while the server is over quota (by status or figures) its paused
    relays are stopped; once it is not (whatever status an operator gave it since), they start
    again (for customers whose rental wants them running, or who rent
    nothing and had them placed by hand) and lose the mark; a suspended customer's stay
    stopped. Idempotent; a relay whose server did not answer is in report.errors (retried)."""
    report = QuotaReport()
    paused = DerpInstance.objects.select_related("server", "user").filter(
        server=server, paused_for_quota=True)
    if quota_holds(server):
        for instance in paused.filter(status=InstanceStatus.RUNNING):
            try:
                stop_instance(actor=actor, instance=instance)
                report.stopped.append(instance.pk)
            except (RemoteError, ServiceError) as error:
                report.errors.append(f"{instance}: {error}")
        return report
    for instance in paused:
        if instance.status != InstanceStatus.STOPPED or not _may_run(instance.user):
            DerpInstance.objects.filter(pk=instance.pk).update(paused_for_quota=False)
            report.released.append(instance.pk)
            continue
        try:
            _engine_step(server, get_engine().start, instance)
        except RemoteError as error:
            report.errors.append(f"{instance}: {error}")
            continue
        with transaction.atomic():
            if DerpInstance.objects.filter(pk=instance.pk, status=InstanceStatus.STOPPED).update(
                    status=InstanceStatus.RUNNING, started_at=timezone.now(), last_error="",
                    paused_for_quota=False):
                audit.record(actor=actor, action="containers.started", target=instance,
                             details={"reason": "quota_reset"})
        report.started.append(instance.pk)
        _instances_changed(instance.user)
    return report


def _may_run(user: User) -> bool:
    from apps.rentals.models import RelayIntent, Rental

    rental = Rental.objects.filter(pk=user.pk).first() or Rental(user=user)
    return rental.relay_intent(user) in (RelayIntent.RUN, RelayIntent.NONE)
