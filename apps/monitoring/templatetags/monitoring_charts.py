"""The server page's health part: `{% server_health server %}` — probe state and figures, each
relay's latency, latency charts (?range=24h|7d) and the speed test with its last result."""

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.policy import can
from apps.containers.models import DerpInstance
from apps.operations.models import Operation, OperationKind, OperationState

from ..charts import line_chart
from ..forms_filters import ChartRangeForm
from ..models import Metric, Sample, ServerHealth
from ..series import RANGES, series

register = template.Library()

RELAY_LINES = (Metric.TCP_MS, Metric.TLS_MS, Metric.HTTP_MS, Metric.STUN_MS)
SERVER_FIGURES = (Metric.LOAD1, Metric.CPUS, Metric.MEM_PERCENT, Metric.DISK_PERCENT,
                  Metric.UPTIME, Metric.SSH_MS, Metric.ENGINE_OK)


def _range(request) -> str:
    form = ChartRangeForm(request.GET)
    return (form.cleaned_data.get("range") or "24h") if form.is_valid() else "24h"


def _charts(server, relays, range_name: str) -> list[dict]:
    now = timezone.now()
    start = now - RANGES[range_name]
    names = {relay.pk: f"{relay.port} ({relay.user.username})" for relay in relays}
    found = series(server_id=server.pk, metrics=RELAY_LINES, range_name=range_name, relays=True,
                   now=now)
    found.update(series(server_id=server.pk, metrics=[Metric.PING_MS, Metric.SSH_MS],
                        range_name=range_name, now=now))
    charts = []
    own = [(f"{Metric(metric).label}{' ' + label if label else ''}", points)
           for (relay, metric, label), points in sorted(found.items(), key=lambda i: i[0][1:])
           if relay is None]
    if own:
        charts.append({"title": _("From the server (SSH, ping)"),
                       "svg": line_chart(own, start=start, end=now, unit=" ms",
                                         title=_("From the server"))})
    for relay_id, name in names.items():
        lines = [(str(Metric(metric).label), found.get((relay_id, metric, ""), []))
                 for metric in RELAY_LINES]
        if any(points for _label, points in lines):
            title = _("Relay %(name)s, from the panel") % {"name": name}
            charts.append({"title": title, "svg": line_chart(lines, start=start, end=now,
                                                              unit=" ms", title=title)})
    return charts


@register.inclusion_tag("monitoring/_server_health.html", takes_context=True)
def server_health(context, server):
    request = context["request"]
    range_name = _range(request)
    health = ServerHealth.objects.filter(server=server).first()
    latest = health.latest if health else {}
    relays = list(DerpInstance.objects.visible_to(request.user).live().filter(server=server)
                  .select_related("user", "health").order_by("port"))
    for relay in relays:
        figures = getattr(relay, "health", None)
        relay.figures = [(figures.latest if figures else {}).get(m) for m in RELAY_LINES]
        relay.reachable = (figures.latest if figures else {}).get(Metric.REACHABLE)
        relay.probe = figures
    tests = Operation.objects.filter(server_id=server.pk, kind=OperationKind.SPEED_TEST)
    return {
        "request": request, "server": server, "health": health,
        "figures": [(Metric(m).label, latest.get(m)) for m in SERVER_FIGURES],
        "ping": latest.get(Metric.PING_MS), "relays": relays, "range": range_name,
        "ranges": ["24h", "7d"], "charts": _charts(server, relays, range_name),
        "running_test": tests.filter(state__in=(OperationState.QUEUED,
                                                OperationState.RUNNING)).first(),
        "last_test": tests.filter(state=OperationState.DONE).order_by("-finished_at").first(),
        "last_rate": Sample.objects.filter(server=server, metric=Metric.DOWNLOAD_MBPS,
                                           instance__isnull=True).order_by("-taken_at").first(),
        "may_test": can(request.user, "servers.operate_server"),
        "csrf_token": context.get("csrf_token"),
    }
