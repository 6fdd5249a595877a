"""Load analysis: how full and how busy each server is, and where relays could go to even it out.

Read by GET /api/monitoring/load_analysis and the /ops/load/ page. A constant number of queries
whatever the size of the fleet: the servers (with relay counts and probe state), the relays'
latest probe figures, the open alerts per server, the settings."""

import dataclasses
import math

from django.db.models import Count
from django.utils.translation import gettext as _

from apps.containers.models import LIVE_STATUSES, DerpInstance
from apps.servers.models import Server, ServerStatus

from .models import Alert, Metric, MonitoringSettings, RelayHealth

# A server holding this share of its relay slots is full enough to stop adding to it; below the
# low share it has room to take relays from fuller servers.
HIGH_RELAY_SHARE = 0.8
LOW_RELAY_SHARE = 0.3
# Load average per CPU: at 1 every CPU is busy; under half, the server idles.
HIGH_LOAD_PER_CPU = 1.0
LOW_LOAD_PER_CPU = 0.5

OVER, UNDER, NORMAL = "over", "under", "normal"


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 1) if values else None


def _ping(latest: dict) -> float | None:
    """The ping figure of a probe: one number, or one per target ({"1.1.1.1": 12.5, …})."""
    value = latest.get(Metric.PING_MS)
    if isinstance(value, dict):
        return _mean(_number(v) for v in value.values())
    return _number(value)


@dataclasses.dataclass(eq=False)  # keyed by identity in _suggest
class ServerLoad:
    server: Server
    relays: int
    open_alerts: int
    latency: dict
    usage: str = NORMAL
    reasons: list = dataclasses.field(default_factory=list)

    @property
    def health(self):
        return getattr(self.server, "health", None)

    def figure(self, metric: str) -> float | None:
        return _number((self.health.latest if self.health else {}).get(metric))

    @property
    def load_per_cpu(self) -> float | None:
        load, cpus = self.figure(Metric.LOAD1), self.figure(Metric.CPUS)
        return round(load / cpus, 2) if load is not None and cpus else None

    @property
    def relay_share(self) -> float:
        return self.relays / self.server.max_containers

    def as_dict(self) -> dict:
        server, health = self.server, self.health
        return {
            "id": server.pk, "name": server.name, "status": server.status,
            "status_display": str(server.get_status_display()),
            "load1": self.figure(Metric.LOAD1), "cpus": self.figure(Metric.CPUS),
            "load_per_cpu": self.load_per_cpu, "mem_percent": self.figure(Metric.MEM_PERCENT),
            "disk_percent": self.figure(Metric.DISK_PERCENT),
            "relays": self.relays, "max_containers": server.max_containers,
            "relay_percent": round(100 * self.relay_share, 1),
            "traffic_month_bytes": server.traffic_month_bytes,
            "monthly_quota_bytes": server.monthly_quota_bytes or None,
            "monthly_remaining_bytes": server.monthly_remaining_bytes,
            "latency": self.latency,
            "health": {
                "failures": health.failures if health else 0,
                "successes": health.successes if health else 0,
                "last_probe_at": health.last_probe_at if health else None,
                "unhealthy_since": health.unhealthy_since if health else None,
            },
            "open_alerts": self.open_alerts, "usage": self.usage, "reasons": self.reasons,
        }


def _classify(entry: ServerLoad, limits: MonitoringSettings) -> None:
    reasons = []
    if entry.relay_share >= HIGH_RELAY_SHARE:
        reasons.append(_("%(n)d of %(max)d relay slots used") % {
            "n": entry.relays, "max": entry.server.max_containers})
    per_cpu = entry.load_per_cpu
    if per_cpu is not None and per_cpu >= HIGH_LOAD_PER_CPU:
        reasons.append(_("load %(load)s per CPU") % {"load": per_cpu})
    memory, disk = entry.figure(Metric.MEM_PERCENT), entry.figure(Metric.DISK_PERCENT)
    if memory is not None and memory >= limits.memory_warning_percent:
        reasons.append(_("memory %(p)d%% used") % {"p": memory})
    if disk is not None and disk >= limits.disk_warning_percent:
        reasons.append(_("disk %(p)d%% used") % {"p": disk})
    if reasons:
        entry.usage, entry.reasons = OVER, [str(r) for r in reasons]
    elif (entry.server.status == ServerStatus.HEALTHY and entry.relay_share < LOW_RELAY_SHARE
          and (per_cpu is None or per_cpu < LOW_LOAD_PER_CPU)):
        entry.usage = UNDER


def _suggest(entries: list[ServerLoad]) -> list[dict]:
    """Moves that bring over-used healthy servers towards the fleet's average relay share, onto
    the emptiest healthy servers that are not over-used themselves."""
    healthy = [e for e in entries if e.server.status == ServerStatus.HEALTHY]
    capacity = sum(e.server.max_containers for e in healthy)
    if not capacity:
        return []
    target = sum(e.relays for e in healthy) / capacity
    surplus = {}
    for entry in healthy:
        if entry.usage == OVER and entry.relays:
            extra = entry.relays - math.floor(target * entry.server.max_containers)
            surplus[entry] = max(extra, 1)  # over-used by its figures: at least one moves
    room = {e: min(math.floor(target * e.server.max_containers), e.server.max_containers)
            - e.relays for e in healthy if e.usage != OVER}
    moves = []
    for source in sorted(surplus, key=lambda e: -surplus[e]):
        for destination in sorted(room, key=lambda e: (-room[e], e.relay_share)):
            count = min(surplus[source], room[destination])
            if count <= 0:
                continue
            moves.append({"from": {"id": source.server.pk, "name": source.server.name},
                          "to": {"id": destination.server.pk, "name": destination.server.name},
                          "relays": count,
                          "message": _("Move %(n)d relay(s) from %(a)s to %(b)s") % {
                              "n": count, "a": source.server.name, "b": destination.server.name}})
            surplus[source] -= count
            room[destination] -= count
            if not surplus[source]:
                break
    return moves


def _relay_latency(server_ids) -> dict[int, dict]:
    """Per server: the mean of its live relays' latest TCP/TLS/HTTP/STUN figures."""
    figures: dict[int, dict[str, list]] = {}
    rows = (RelayHealth.objects.filter(instance__server_id__in=server_ids,
                                       instance__status__in=LIVE_STATUSES)
            .values_list("instance__server_id", "latest"))
    for server_id, latest in rows:
        bucket = figures.setdefault(server_id, {})
        for metric in (Metric.TCP_MS, Metric.TLS_MS, Metric.HTTP_MS, Metric.STUN_MS):
            bucket.setdefault(metric, []).append(_number((latest or {}).get(metric)))
    return {server_id: {str(m): _mean(v) for m, v in bucket.items()}
            for server_id, bucket in figures.items()}


def analyse(*, viewer) -> dict:
    """Every server the viewer may see, its figures and usage, the suggested moves and totals."""
    limits = MonitoringSettings.current()
    servers = list(Server.objects.visible_to(viewer).exclude(status=ServerStatus.SETTING_UP)
                   .select_related("health").order_by("name"))
    ids = [server.pk for server in servers]
    # The whole fleet: one grouped count of the live relays reads each relay once, where a count
    # per server row reads them server by server.
    relays = dict(DerpInstance.objects.live().filter(server_id__in=ids).order_by()
                  .values("server_id").annotate(n=Count("pk")).values_list("server_id", "n"))
    for server in servers:
        server.relays = relays.get(server.pk, 0)
    alerts = dict(Alert.objects.open().filter(server_id__in=ids).values("server_id")
                  .annotate(n=Count("id")).values_list("server_id", "n"))
    latency = _relay_latency(ids)
    entries = []
    for server in servers:
        health = getattr(server, "health", None)
        figures = {"tcp_ms": None, "tls_ms": None, "http_ms": None, "stun_ms": None,
                   **latency.get(server.pk, {}),
                   "ping_ms": _ping(health.latest) if health else None}
        entry = ServerLoad(server=server, relays=server.relays,
                           open_alerts=alerts.get(server.pk, 0), latency=figures)
        _classify(entry, limits)
        entries.append(entry)
    return {
        "servers": [entry.as_dict() for entry in entries],
        "over_used": [e.server.pk for e in entries if e.usage == OVER],
        "under_used": [e.server.pk for e in entries if e.usage == UNDER],
        "suggestions": _suggest(entries),
        "totals": {
            "servers": len(entries),
            "healthy": sum(e.server.status == ServerStatus.HEALTHY for e in entries),
            "relays": sum(e.relays for e in entries),
            "capacity": sum(e.server.max_containers for e in entries),
            "traffic_month_bytes": sum(e.server.traffic_month_bytes for e in entries),
            "open_alerts": sum(alerts.values()),
        },
        "thresholds": {
            "high_relay_percent": round(100 * HIGH_RELAY_SHARE),
            "low_relay_percent": round(100 * LOW_RELAY_SHARE),
            "high_load_per_cpu": HIGH_LOAD_PER_CPU,
            "memory_percent": limits.memory_warning_percent,
            "disk_percent": limits.disk_warning_percent,
        },
    }
