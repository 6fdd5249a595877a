"""GET /metrics: the fleet in Prometheus's text format, read from the database on each scrape
in a fixed number of queries (whatever the number of servers and relays).

Open to a caller presenting METRICS_TOKEN (Authorization: Bearer, or ?token=) or calling from
METRICS_ALLOWED_IPS; with neither configured the endpoint does not exist (404). Never cached;
not part of the API schema."""

import hmac
import ipaddress

from django.conf import settings
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from apps.acl.counters import admission_counters, shared_totals
from apps.containers.models import DerpInstance, InstanceStatus
from apps.monitoring.models import Alert, Severity
from apps.notifications.models import EmailStatus, OutboundEmail
from apps.operations.models import Operation, OperationKind, OperationState
from apps.servers.models import Server, ServerStatus
from derpmgr.net import client_ip


def _by(model_or_queryset, field: str) -> dict[str, int]:
    queryset = getattr(model_or_queryset, "objects", model_or_queryset)
    return dict(queryset.order_by().values_list(field).annotate(n=Count("pk")))


def _counts(name: str, documentation: str, label: str, choices, found: dict[str, int]):
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value in choices:
        family.add_metric([str(value)], found.get(str(value), 0))
    return family


class FleetCollector:
    """Each scrape: servers and relays by status, each server's traffic and quota, open alerts
    by severity, the e-mail outbox, operations, relay admissions."""

    def collect(self):
        yield _counts("derpmgr_servers", "Servers by status.", "status", ServerStatus.values,
                      _by(Server, "status"))
        yield _counts("derpmgr_relays", "Relays by status.", "status", InstanceStatus.values,
                      _by(DerpInstance, "status"))
        yield from self._servers()
        yield _counts("derpmgr_alerts_open", "Open alerts by severity.", "severity",
                      Severity.values, _by(Alert.objects.open(), "severity"))
        yield _counts("derpmgr_outbox_emails", "Outgoing e-mails by status.", "status",
                      EmailStatus.values, _by(OutboundEmail, "status"))
        yield from self._operations()
        yield from self._admissions()

    def _servers(self):
        labels = ["server", "server_id"]
        month = GaugeMetricFamily("derpmgr_server_traffic_month_bytes",
                                  "Bytes through the server's interface in the quota month.",
                                  labels=labels)
        total = CounterMetricFamily("derpmgr_server_traffic_bytes",
                                    "Bytes through the server's interface since it was added.",
                                    labels=labels)
        rate = GaugeMetricFamily("derpmgr_server_rate_bps",
                                 "The server's current rate (bit/s).", labels=labels)
        quota = GaugeMetricFamily("derpmgr_server_quota_bytes",
                                  "The server's monthly quota (servers with one).", labels=labels)
        used = GaugeMetricFamily("derpmgr_server_quota_used_ratio",
                                 "Share of the monthly quota used (servers with one).",
                                 labels=labels)
        for pk, name, month_bytes, total_bytes, rate_bps, quota_bytes in (
                Server.objects.order_by("pk").values_list(
                    "pk", "name", "traffic_month_bytes", "traffic_total_bytes", "rate_bps",
                    "monthly_quota_bytes")):
            values = [name, str(pk)]
            month.add_metric(values, month_bytes)
            total.add_metric(values, total_bytes)
            rate.add_metric(values, rate_bps)
            if quota_bytes:
                quota.add_metric(values, quota_bytes)
                used.add_metric(values, month_bytes / quota_bytes)
        yield from (month, total, rate, quota, used)

    def _operations(self):
        failed = CounterMetricFamily("derpmgr_operations_failed",
                                     "Operations that failed, by kind (as kept in the database).",
                                     labels=["kind"])
        waiting = GaugeMetricFamily("derpmgr_operations_pending",
                                    "Operations queued or running, by state.", labels=["state"])
        counts = dict(((kind, state), n) for kind, state, n in Operation.objects.order_by()
                      .filter(state__in=(OperationState.FAILED, OperationState.QUEUED,
                                         OperationState.RUNNING))
                      .values_list("kind", "state").annotate(n=Count("pk")))
        for kind in OperationKind.values:
            failed.add_metric([kind], counts.get((kind, OperationState.FAILED), 0))
        for state in (OperationState.QUEUED, OperationState.RUNNING):
            waiting.add_metric([state], sum(n for (_kind, s), n in counts.items() if s == state))
        yield from (failed, waiting)

    def _admissions(self):
        admission_counters.flush()  # this process's own, if it answered any
        totals = shared_totals()
        family = CounterMetricFamily("derpmgr_admissions",
                                     "Relay admission answers (derper's verify-client-url).",
                                     labels=["result"])
        for result, count in totals.items():
            family.add_metric([result], count)
        yield family


def _from_allowed_address(request) -> bool:
    if not settings.METRICS_ALLOWED_IPS:
        return False
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    for allowed in settings.METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(allowed.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def _presented_token(request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.GET.get("token", "")


def _refusal(status: int) -> HttpResponse:
    response = HttpResponse(b"", status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@never_cache
@require_GET
def metrics(request):
    configured = settings.METRICS_TOKEN
    if not configured and not settings.METRICS_ALLOWED_IPS:
        raise Http404
    if not _from_allowed_address(request):
        presented = _presented_token(request)
        if not presented:
            return _refusal(401)
        if not configured or not hmac.compare_digest(presented.encode(), configured.encode()):
            return _refusal(403)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
