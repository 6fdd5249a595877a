"""Fleet health over the API: alerts (list, one, acknowledge), the load analysis, a server's
series of figures and its speed test. Admins and super admins only; anyone else signed in is
told nothing is here (404), anonymous callers must authenticate (401)."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.views import APIView

from apps.containers.models import DerpInstance
from apps.operations.api import ACCEPTED, accepted
from apps.servers.models import Server
from derpmgr.api import EnvelopePagination, allowed, envelope, filter_form, ok, validated
from derpmgr.api_fields import ChoiceLabelField, StrictCharField
from derpmgr.errors import NotFound
from derpmgr.net import client_ip

from . import load, services, speedtest
from .answers import LOAD_ANALYSIS, METRICS
from .forms_filters import ALL, MAX_ID, OPEN, RESOLVED, AlertFilterForm, MetricsQueryForm
from .models import Alert, AlertType, Metric, Severity
from .series import RANGES, series


class AlertSerializer(serializers.ModelSerializer):
    type_display = ChoiceLabelField(AlertType.choices, source="type")
    severity_display = ChoiceLabelField(Severity.choices, source="severity")
    is_open = serializers.BooleanField()
    acknowledged_by = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = ["id", "type", "type_display", "severity", "severity_display", "target_kind",
                  "target_id", "target_label", "server_id", "message", "details", "is_open",
                  "opened_at", "last_seen_at", "resolved_at", "acknowledged_at",
                  "acknowledged_by", "acknowledgement", "notifications"]

    def get_acknowledged_by(self, alert) -> str | None:
        return alert.acknowledged_by.email if alert.acknowledged_by_id else None


class AcknowledgeSerializer(serializers.Serializer):
    note = StrictCharField(allow_blank=True, required=False, default="", max_length=2000,
                           trim_whitespace=False, help_text="What is being done about it.")


ALERT = envelope("AlertEnvelope", alert=AlertSerializer())


def visible_alert(user, pk) -> Alert:
    alert = (Alert.objects.visible_to(user).select_related("acknowledged_by")
             .filter(pk=pk).first() if 0 < pk <= MAX_ID else None)
    if alert is None:
        raise NotFound(_("No such alert."))
    return alert


def _server(user, pk) -> Server:
    server = Server.objects.visible_to(user).filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if server is None:
        raise NotFound(_("No such server."))
    return server


CAN_VIEW_ALERTS = allowed("monitoring.view_alert")


@extend_schema_view(get=extend_schema(parameters=[
    OpenApiParameter("state", str, enum=[OPEN, RESOLVED, ALL]),
    OpenApiParameter("type", str, enum=AlertType.values),
    OpenApiParameter("severity", str, enum=Severity.values),
    OpenApiParameter("server_id", int),
    OpenApiParameter("since", OpenApiTypes.DATETIME),
    OpenApiParameter("until", OpenApiTypes.DATETIME)]))
class AlertListView(ListAPIView):
    """GET /api/monitoring/alerts — open alerts (critical first) unless ?state=resolved|all;
    ?type=, ?severity=, ?server_id=, ?since=, ?until= (ISO times), ?page=, ?page_size=."""

    permission_classes = [CAN_VIEW_ALERTS]
    serializer_class = AlertSerializer
    pagination_class = EnvelopePagination

    def get_queryset(self):
        form = filter_form(AlertFilterForm, self.request)
        return form.apply(Alert.objects.visible_to(self.request.user)
                          .select_related("acknowledged_by"))


class AlertDetailView(APIView):
    """GET /api/monitoring/alerts/<id> — one alert."""

    permission_classes = [CAN_VIEW_ALERTS]

    @extend_schema(responses=ALERT)
    def get(self, request, pk):
        return ok({"alert": AlertSerializer(visible_alert(request.user, pk)).data})


class AcknowledgeView(APIView):
    """POST /api/monitoring/alerts/<id>/acknowledge {"note": "…"} — say what is being done (the
    alert stays open until its condition clears)."""

    permission_classes = [allowed("monitoring.acknowledge_alert")]

    @extend_schema(request=AcknowledgeSerializer, responses=ALERT)
    def post(self, request, pk):
        alert = visible_alert(request.user, pk)
        note = validated(AcknowledgeSerializer, request)["note"]
        alert = services.acknowledge(actor=request.user, alert=alert, note=note,
                                     ip=client_ip(request))
        return ok({"alert": AlertSerializer(alert).data})


class LoadAnalysisView(APIView):
    """GET /api/monitoring/load_analysis — per server: load, memory, disk, relays, traffic,
    latency, health and open alerts; which servers are over- or under-used and the relay moves
    that would even them out; fleet totals. The same again under `load_analysis` (the seed's
    key)."""

    permission_classes = [allowed("servers.view_server", "monitoring.view_alert")]

    @extend_schema(responses=LOAD_ANALYSIS)
    def get(self, request):
        analysis = load.analyse(viewer=request.user)
        return ok({**analysis, "load_analysis": analysis})


class MetricsView(APIView):
    """GET /api/server/<id>/metrics?metric=&range=24h|7d|30d[&relay_id=] — a series: raw
    samples over 24 hours, hourly means (with minimum and maximum) over longer ranges."""

    permission_classes = [allowed("servers.view_server", "monitoring.view_sample")]

    @extend_schema(parameters=[OpenApiParameter("metric", str, required=True, enum=Metric.values),
                               OpenApiParameter("range", str, enum=list(RANGES)),
                               OpenApiParameter("relay_id", int, description=(
                                   "For a relay's figure (tcp_ms, tls_ms, http_ms, stun_ms)."))],
                   responses=METRICS)
    def get(self, request, pk):
        server = _server(request.user, pk)
        query = filter_form(MetricsQueryForm, request).cleaned_data
        relay_id = query.get("relay_id")
        if relay_id and not DerpInstance.objects.visible_to(request.user).filter(
                pk=relay_id, server=server).exists():
            raise NotFound(_("No such relay on this server."))
        found = series(server_id=server.pk, metrics=[query["metric"]],
                       range_name=query["range"], instance_id=relay_id)
        return ok({"server_id": server.pk, "relay_id": relay_id, "metric": query["metric"],
                   "range": query["range"], "series": [
                       {"label": label, "points": [p.as_dict() for p in points]}
                       for (_relay, _metric, label), points in sorted(
                           found.items(), key=lambda item: item[0][2])]})


class SpeedTestView(APIView):
    """POST /api/server/<id>/speed_test — measure the server's download rate in the background:
    202 with the operation (its result: mbps, bytes, seconds, method). One at a time per
    server: asking again while one runs answers that one."""

    permission_classes = [allowed("servers.operate_server")]

    @extend_schema(request=None, responses=ACCEPTED)
    def post(self, request, pk):
        server = _server(request.user, pk)
        return accepted(request, speedtest.request(actor=request.user, server=server,
                                                   ip=client_ip(request)))
