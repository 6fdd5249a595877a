"""Fleet health: probe rounds (every server and relay at once, each bounded in time), status
with hysteresis, samples with hourly roll-ups, the alerts the figures call for, and automatic
failover of servers unhealthy for too long.

Remote work happens in threads that touch no database; what they found is written afterwards,
in the calling thread, in short transactions (none is held open while a server is asked).
"""

import dataclasses
import logging
from datetime import UTC, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Count, Max, Min, Q
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.containers.models import DerpInstance, InstanceStatus
from apps.servers import services as servers
from apps.servers.models import Server, ServerStatus

from . import probes
from . import services as alerts
from .models import (
    Alert,
    AlertType,
    Metric,
    MonitoringSettings,
    RelayHealth,
    Sample,
    SampleRollup,
    ServerHealth,
    Severity,
)

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class RoundReport:
    servers: list[tuple[Server, probes.ServerProbe]] = dataclasses.field(default_factory=list)
    relays: list[tuple[DerpInstance, probes.RelayProbe]] = dataclasses.field(default_factory=list)
    marked_unhealthy: list[int] = dataclasses.field(default_factory=list)
    marked_healthy: list[int] = dataclasses.field(default_factory=list)
    samples: int = 0


# --- Probing --------------------------------------------------------------------------------

def ping_targets(config: MonitoringSettings, server: Server, fleet: list[Server]) -> list[str]:
    """The configured targets; with none, the next few other servers after this one (so that
    together the servers ping each other without every server pinging the whole fleet)."""
    configured = [line.strip() for line in config.probe_targets.splitlines() if line.strip()]
    if configured:
        return configured
    others = [s for s in fleet if s.pk != server.pk]
    after = [s for s in others if s.pk > server.pk] + [s for s in others if s.pk < server.pk]
    return [s.public_ip for s in after[:settings.MONITORING_MAX_PING_TARGETS]]


def _probe(job):
    kind, subject, targets = job
    if kind == "server":
        return probes.probe_server(subject, targets.hosts, engine_version=targets.engine_version)
    return probes.probe_relay(subject.server.public_ip, subject.port,
                              fingerprint=subject.server.cert_fingerprint,
                              server_name=subject.server.domain)


def _failed(kind: str, error: BaseException):
    code = "timeout" if isinstance(error, probes.ProbeTimedOut) else "probe_failed"
    message = str(error) or type(error).__name__
    if kind == "server":
        return probes.ServerProbe(ok=False, error=message, error_code=code)
    return probes.RelayProbe(reachable=False, error=message)


@dataclasses.dataclass(frozen=True)
class _ServerJob:
    hosts: list[str]
    engine_version: bool


def probe_round(*, now=None, server_ids=None, engine_version: bool = False) -> RoundReport:
    """Probe every server that is set up (or those of `server_ids`) and its running relays, all
    at once; record samples, counters, status changes and alerts. `engine_version`: ask each
    engine its version too (slower on some engines), as "check now" does."""
    now = now or timezone.now()
    config = MonitoringSettings.current()
    fleet = list(Server.objects.exclude(status=ServerStatus.SETTING_UP).order_by("pk"))
    wanted = None if server_ids is None else set(server_ids)
    chosen = [s for s in fleet if wanted is None or s.pk in wanted]
    relays = list(DerpInstance.objects.select_related("server", "user").filter(
        server__in=chosen, status=InstanceStatus.RUNNING).order_by("pk"))
    jobs = ([("server", s, _ServerJob(ping_targets(config, s, fleet), engine_version))
             for s in chosen]
            + [("relay", relay, None) for relay in relays])
    results = probes.in_parallel(_probe, jobs, timeout=settings.MONITORING_PROBE_TIMEOUT,
                                 workers=settings.MONITORING_PROBE_WORKERS)
    report, samples = RoundReport(), []
    open_now = set(Alert.objects.open().values_list("type", "target_kind", "target_id"))
    for (kind, subject, _targets), result in zip(jobs, results, strict=True):
        if isinstance(result, BaseException):
            logger.warning("probe of %s %s failed: %s", kind, subject.pk, result)
            result = _failed(kind, result)
        recorder = _record_server if kind == "server" else _record_relay
        try:
            samples += recorder(subject, result, now=now, config=config, report=report,
                                open_now=open_now)
        except Exception:  # one target's bookkeeping never costs the others theirs
            logger.exception("recording the probe of %s %s failed", kind, subject.pk)
    Sample.objects.bulk_create(samples, batch_size=1000)
    report.samples = len(samples)
    return report


class _Alerts:
    """Open/refresh while a condition holds; resolve only what is open (one query a round for
    the whole fleet instead of one per target)."""

    def __init__(self, open_now: set, target):
        self.open_now = open_now
        self.target = target
        self.kind, self.target_id, _label, _server = alerts.target_of(target)

    def open(self, type, severity, message, details=None):
        alerts.open_alert(type=type, target=self.target, severity=severity, message=message,
                          details=details)
        self.open_now.add((type, self.kind, self.target_id))

    def resolve(self, type):
        if (type, self.kind, self.target_id) in self.open_now:
            alerts.resolve_alert(type=type, target=self.target)
            self.open_now.discard((type, self.kind, self.target_id))

    def follow(self, condition: bool, type, severity, message, details=None):
        if condition:
            self.open(type, severity, message, details)
        else:
            self.resolve(type)


def _server_samples(server, probe: probes.ServerProbe, now) -> list[Sample]:
    rows = [Sample(server=server, metric=metric, value=value, taken_at=now)
            for metric, value in probe.figures.items()]
    for target, (average, loss) in probe.pings.items():
        rows.append(Sample(server=server, metric=Metric.PING_LOSS, label=target[:64], value=loss,
                           taken_at=now))
        if average is not None:
            rows.append(Sample(server=server, metric=Metric.PING_MS, label=target[:64],
                               value=average, taken_at=now))
    return rows


def _latest(probe: probes.ServerProbe) -> dict:
    latest = dict(probe.figures)
    if probe.pings:
        latest[Metric.PING_MS] = {t: average for t, (average, _loss) in probe.pings.items()}
        latest[Metric.PING_LOSS] = {t: loss for t, (_average, loss) in probe.pings.items()}
    if probe.engine_version:
        latest["engine_version"] = probe.engine_version
    return latest


def _record_server(server, probe: probes.ServerProbe, *, now, config, report, open_now):
    with transaction.atomic():
        ServerHealth.objects.get_or_create(server=server)
        health = ServerHealth.objects.select_for_update().get(server=server)
        status = Server.objects.filter(pk=server.pk).values_list("status", flat=True).first()
        if status is None:  # deleted meanwhile
            return []
        health.last_probe_at = now
        if probe.ok:
            health.successes, health.failures = health.successes + 1, 0
            health.last_ok_at, health.last_error = now, ""
        else:
            health.failures, health.successes = health.failures + 1, 0
            health.last_error = probe.error[:2000]
        if probe.figures:
            health.latest = _latest(probe)
        transition = _status_change(server, probe, health, status, config, now)
        if transition == "unhealthy":
            report.marked_unhealthy.append(server.pk)
        elif transition == "healthy":
            report.marked_healthy.append(server.pk)
        if health.unhealthy_since is not None or transition == "healthy":
            health.last_unhealthy_at = now  # the cool-down counts from the last bad sight
        health.save()
        _server_alerts(server, probe, health, config, _Alerts(open_now, server))
    report.servers.append((server, probe))
    return _server_samples(server, probe, now)


def _status_change(server, probe, health: ServerHealth, status: str, config, now) -> str | None:
    """Hysteresis: N failures in a row make a healthy server unhealthy; M successes in a row
    make a server the probe marked unhealthy healthy again. Other statuses are left alone."""
    going_down = (not probe.ok and health.failures >= config.failures_before_unhealthy
                  and status == ServerStatus.HEALTHY)
    coming_back = (probe.ok and health.successes >= config.successes_before_healthy
                   and health.unhealthy_since is not None and status == ServerStatus.UNHEALTHY)
    if going_down and servers.mark_health(server=server, healthy=False, reason=probe.error):
        health.unhealthy_since = now
        return "unhealthy"
    if coming_back and servers.mark_health(server=server, healthy=True,
                                           reason=_("probes succeed again")):
        health.unhealthy_since = None
        return "healthy"
    if health.unhealthy_since is not None and status != ServerStatus.UNHEALTHY:
        health.unhealthy_since = None  # an operator took the server over (maintenance, say)
    return None


def _server_alerts(server, probe, health: ServerHealth, config, about: _Alerts) -> None:
    if health.unhealthy_since is not None:
        about.open(AlertType.SERVER_UNHEALTHY, Severity.CRITICAL,
                   _("%(server)s failed %(n)d health probes in a row: %(why)s")
                   % {"server": server.name, "n": health.failures, "why": health.last_error}
                   if not probe.ok else
                   _("%(server)s answers again; healthy after %(m)d good probes in a row.")
                   % {"server": server.name, "m": config.successes_before_healthy},
                   {"failures": health.failures, "since": health.unhealthy_since.isoformat()})
    else:
        about.resolve(AlertType.SERVER_UNHEALTHY)
    if probe.host_key_changed:
        about.open(AlertType.HOST_KEY_CHANGED, Severity.CRITICAL, probe.error)
    elif probe.ok:
        about.resolve(AlertType.HOST_KEY_CHANGED)
    for metric, type, limit, label in (
            (Metric.DISK_PERCENT, AlertType.DISK_HIGH, config.disk_warning_percent, _("Disk")),
            (Metric.MEM_PERCENT, AlertType.MEMORY_HIGH, config.memory_warning_percent,
             _("Memory"))):
        value = probe.figures.get(metric)
        if value is not None:
            about.follow(value > limit, type, Severity.WARNING,
                         _("%(what)s of %(server)s is %(value)g %% used (alert above %(limit)d %%).")
                         % {"what": label, "server": server.name, "value": value, "limit": limit},
                         {metric: value})
    slow = {t: average for t, (average, _loss) in probe.pings.items() if average is not None}
    if slow:
        worst = max(slow, key=slow.get)
        about.follow(slow[worst] > config.latency_warning_ms, AlertType.LATENCY_HIGH,
                     Severity.WARNING,
                     _("Ping from %(server)s to %(target)s takes %(ms)g ms (alert above %(limit)d "
                       "ms).") % {"server": server.name, "target": worst, "ms": slow[worst],
                                  "limit": config.latency_warning_ms},
                     {Metric.PING_MS: slow})


def _record_relay(instance, probe: probes.RelayProbe, *, now, config, report, open_now):
    with transaction.atomic():
        RelayHealth.objects.get_or_create(instance=instance)
        health = RelayHealth.objects.select_for_update().get(instance=instance)
        health.last_probe_at = now
        if probe.reachable:
            health.successes, health.failures = health.successes + 1, 0
            health.last_ok_at, health.last_error = now, ""
        else:
            health.failures, health.successes = health.failures + 1, 0
            health.last_error = probe.error[:2000]
        health.latest = {**probe.figures, Metric.REACHABLE: int(probe.reachable)}
        health.save()
        _relay_alerts(instance, probe, health, config, _Alerts(open_now, instance))
    report.relays.append((instance, probe))
    figures = {**probe.figures, Metric.REACHABLE: 1 if probe.reachable else 0}
    return [Sample(server_id=instance.server_id, instance=instance, metric=metric, value=value,
                   taken_at=now) for metric, value in figures.items()]


def _relay_alerts(instance, probe, health: RelayHealth, config, about: _Alerts) -> None:
    where = f"{instance.server.name}:{instance.port}"
    if probe.cert_ok is not None:
        about.follow(probe.cert_mismatch, AlertType.CERT_MISMATCH, Severity.CRITICAL,
                     _("The relay %(relay)s does not present the certificate its derpMap pins: "
                       "%(why)s") % {"relay": where, "why": probe.error})
    if probe.reachable:
        about.resolve(AlertType.RELAY_UNREACHABLE)
    elif not probe.cert_mismatch and health.failures >= config.relay_failures_before_alert:
        about.open(AlertType.RELAY_UNREACHABLE, Severity.CRITICAL,
                   _("The relay %(relay)s failed %(n)d probes in a row: %(why)s")
                   % {"relay": where, "n": health.failures, "why": probe.error},
                   {"failures": health.failures})
    timed = {m: probe.figures[m] for m in (Metric.TLS_MS, Metric.HTTP_MS) if m in probe.figures}
    if probe.reachable and timed:
        worst = max(timed.values())
        about.follow(worst > config.latency_warning_ms, AlertType.LATENCY_HIGH, Severity.WARNING,
                     _("The relay %(relay)s answers in %(ms)g ms (alert above %(limit)d ms).")
                     % {"relay": where, "ms": worst, "limit": config.latency_warning_ms}, timed)


def check_now(*, server_ids) -> list[dict]:
    """"Check now": the full probe of these servers and their relays, recorded like a round's;
    each server's figures as the operation's result."""
    report = probe_round(server_ids=server_ids, engine_version=True)
    relays: dict[int, list] = {}
    for instance, probe in report.relays:
        relays.setdefault(instance.server_id, []).append({
            "id": instance.pk, "port": instance.port, "reachable": probe.reachable,
            "cert_mismatch": probe.cert_mismatch, "error": probe.error or None,
            **{m: probe.figures.get(m) for m in (Metric.TCP_MS, Metric.TLS_MS, Metric.HTTP_MS,
                                                 Metric.STUN_MS)}})
    statuses = dict(Server.objects.filter(pk__in=[s.pk for s, _p in report.servers])
                    .values_list("pk", "status"))
    return [{
        "id": server.pk, "name": server.name, "public_ip": server.public_ip,
        "status": statuses.get(server.pk, server.status), "ok": probe.ok,
        "ssh_ms": probe.figures.get(Metric.SSH_MS), "engine_version": probe.engine_version or None,
        "error": probe.error or None, "error_code": probe.error_code or None,
        **{m: probe.figures.get(m) for m in (Metric.LOAD1, Metric.CPUS, Metric.MEM_PERCENT,
                                             Metric.DISK_PERCENT, Metric.UPTIME,
                                             Metric.ENGINE_OK)},
        "pings": {t: {"ms": average, "loss": loss} for t, (average, loss) in probe.pings.items()},
        "relays": relays.get(server.pk, [])} for server, probe in report.servers]


# --- Retention ------------------------------------------------------------------------------

def _hour(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def prune_and_roll_up(*, now=None) -> dict:
    """Roll raw samples up into hourly figures (each hour recomputed whole, so running twice
    gives the same rows), then drop raw samples and roll-ups past their retention."""
    now = now or timezone.now()
    end = _hour(now)  # the current hour is rolled up once it is over
    latest = SampleRollup.objects.order_by("-hour").values_list("hour", flat=True).first()
    oldest = Sample.objects.order_by("taken_at").values_list("taken_at", flat=True).first()
    rolled = 0
    if oldest is not None:
        start = _hour(oldest) if latest is None else max(latest, _hour(oldest))
        if start < end:
            rolled = _roll_up(start, end)
    raw_before = now - timedelta(days=settings.SAMPLE_RETENTION_DAYS)
    pruned, _by_model = Sample.objects.filter(taken_at__lt=min(raw_before, end)).delete()
    expired, _by_model = SampleRollup.objects.filter(
        hour__lt=now - timedelta(days=settings.ROLLUP_RETENTION_DAYS)).delete()
    return {"rolled_up": rolled, "pruned": pruned, "expired_rollups": expired}


def _roll_up(start, end) -> int:
    groups = (Sample.objects.filter(taken_at__gte=start, taken_at__lt=end)
              .annotate(hour=TruncHour("taken_at", tzinfo=UTC))  # hours of UTC, as stored
              .values("server_id", "instance_id", "metric", "label", "hour")
              .annotate(count=Count("id"), mean=Avg("value"), low=Min("value"),
                        high=Max("value")).order_by())
    rows = [SampleRollup(**group) for group in groups]
    with transaction.atomic():
        SampleRollup.objects.filter(hour__gte=start, hour__lt=end).delete()
        SampleRollup.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


# --- Failover -------------------------------------------------------------------------------

def recently_unhealthy_ids(*, now, cooldown: timedelta) -> set[int]:
    """Servers seen unhealthy within the cool-down: no relays are moved onto them."""
    return set(ServerHealth.objects.filter(last_unhealthy_at__gte=now - cooldown)
               .values_list("server_id", flat=True))


def fail_over_due(*, now=None) -> list[int]:
    """Servers the probe has seen unhealthy for longer than the settings allow, with relays on
    them, and not failed over within the cool-down: a drain operation each (make-before-break
    moves to servers not recently unhealthy themselves). Returns the operations' ids."""
    from apps.operations import services as operations
    from apps.operations.models import Operation, OperationKind

    now = now or timezone.now()
    config = MonitoringSettings.current()
    cooldown = timedelta(minutes=config.failover_cooldown_minutes)
    not_recent = Q(last_failover_at__isnull=True) | Q(last_failover_at__lte=now - cooldown)
    due = (ServerHealth.objects.select_related("server").filter(not_recent).filter(
        unhealthy_since__lte=now - timedelta(minutes=config.failover_after_minutes),
        server__status=ServerStatus.UNHEALTHY))
    started = []
    for health in due:
        server = health.server
        relays = DerpInstance.objects.filter(server=server, status__in=(
            InstanceStatus.RUNNING, InstanceStatus.STOPPED, InstanceStatus.MIGRATING)).count()
        if not relays or Operation.objects.active().filter(
                dedupe_key__in=(f"server:{server.pk}", "failover")).exists():
            continue  # nothing to move, or an operator's drain or failover is under way
        avoid = sorted(recently_unhealthy_ids(now=now, cooldown=cooldown) - {server.pk})
        with transaction.atomic():
            if not ServerHealth.objects.filter(pk=server.pk).filter(not_recent).update(
                    last_failover_at=now):
                continue  # a concurrent run took it
            operation = operations.request(
                OperationKind.DRAIN, actor=None, server=server,
                args={"status": ServerStatus.UNHEALTHY, "avoid_ids": avoid},
                dedupe_key=f"failover:server:{server.pk}",
                details={"failover": True, "relays": relays})
            alerts.open_alert(
                type=AlertType.FAILOVER, target=server, severity=Severity.WARNING,
                message=_("%(server)s has been unhealthy since %(since)s: its %(n)d relay(s) are "
                          "being moved to healthy servers (operation #%(op)d).")
                % {"server": server.name, "n": relays, "op": operation.pk,
                   "since": timezone.localtime(health.unhealthy_since).strftime("%Y-%m-%d %H:%M")},
                details={"operation": operation.pk, "relays": relays})
        started.append(operation.pk)
    follow_failovers()
    return started


def follow_failovers() -> None:
    """Open failover alerts whose drain has finished say how many relays moved and how many did
    not; one that moved them all is resolved."""
    from apps.operations.models import FINISHED_STATES, Operation, OperationState

    for alert in Alert.objects.open().filter(type=AlertType.FAILOVER):
        if alert.details.get("outcome"):
            continue
        operation = Operation.objects.filter(pk=alert.details.get("operation"),
                                             state__in=FINISHED_STATES).first()
        if operation is None:
            continue
        moved = len(operation.result.get("moved", []))
        failed = operation.result.get("failed", {})
        server = Server.objects.filter(pk=alert.target_id).first()
        done = operation.state == OperationState.DONE and not failed
        message = (_("%(server)s failed over: %(moved)d relay(s) moved, %(failed)d could not be "
                     "moved.") % {"server": alert.target_label, "moved": moved,
                                  "failed": len(failed)}
                   if operation.state == OperationState.DONE else
                   _("Failing %(server)s over stopped: %(why)s")
                   % {"server": alert.target_label, "why": operation.error})
        if server is None:  # deleted since: its alerts stay as history
            continue
        alerts.open_alert(type=AlertType.FAILOVER, target=server,
                          severity=Severity.WARNING if done else Severity.CRITICAL,
                          message=message, details={**alert.details, "outcome": True,
                                                    "moved": moved, "failed": failed})
        if done:
            alerts.resolve_alert(type=AlertType.FAILOVER, target=server,
                                 note=_("every relay moved"))
