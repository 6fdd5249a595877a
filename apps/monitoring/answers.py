"""The shapes of the monitoring API's answers (the load analysis, a metric's series), for the
published schema. The views answer plain dicts built by load.py and series.py; these say what
those dicts hold."""

from rest_framework import serializers

from derpmgr.api import envelope

from .load import NORMAL, OVER, UNDER
from .models import Metric

_MS = serializers.DictField(child=serializers.FloatField(allow_null=True),
                            help_text="Latest figures in milliseconds (tcp_ms, tls_ms, http_ms, "
                                      "stun_ms, ping_ms); null when not measured.")


class ServerHealthCounts(serializers.Serializer):
    failures = serializers.IntegerField()
    successes = serializers.IntegerField()
    last_probe_at = serializers.DateTimeField(allow_null=True)
    unhealthy_since = serializers.DateTimeField(allow_null=True)


def _each(names: str, field_class, **options) -> dict:
    return {name: field_class(**options) for name in names.split()}


# One server's entry of load.analyse() (ServerLoad.as_dict).
ServerLoadSerializer = type("ServerLoadSerializer", (serializers.Serializer,), {
    "id": serializers.IntegerField(),
    **_each("name status status_display", serializers.CharField),
    **_each("load1 cpus load_per_cpu mem_percent disk_percent", serializers.FloatField,
            allow_null=True),
    **_each("relays max_containers traffic_month_bytes open_alerts", serializers.IntegerField),
    "relay_percent": serializers.FloatField(),
    **_each("monthly_quota_bytes monthly_remaining_bytes", serializers.IntegerField,
            allow_null=True),
    "latency": _MS,
    "health": ServerHealthCounts(),
    "usage": serializers.ChoiceField(choices=[OVER, UNDER, NORMAL]),
    "reasons": serializers.ListField(child=serializers.CharField(),
                                     help_text="Why the server counts as over-used."),
})


class ServerRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


# A suggested move: {"from": {...}, "to": {...}, ...} ("from" is a Python keyword).
MoveSerializer = type("MoveSerializer", (serializers.Serializer,), {
    "from": ServerRef(), "to": ServerRef(), "relays": serializers.IntegerField(),
    "message": serializers.CharField()})


FleetTotals = type("FleetTotals", (serializers.Serializer,), _each(
    "servers healthy relays capacity traffic_month_bytes open_alerts", serializers.IntegerField))
Thresholds = type("LoadThresholds", (serializers.Serializer,), {
    **_each("high_relay_percent low_relay_percent memory_percent disk_percent",
            serializers.IntegerField),
    "high_load_per_cpu": serializers.FloatField()})


class LoadAnalysisSerializer(serializers.Serializer):
    servers = ServerLoadSerializer(many=True)
    over_used = serializers.ListField(child=serializers.IntegerField(), help_text="Server ids.")
    under_used = serializers.ListField(child=serializers.IntegerField(), help_text="Server ids.")
    suggestions = MoveSerializer(many=True, help_text="Relay moves that would even the load.")
    totals = FleetTotals()
    thresholds = Thresholds()


LOAD_ANALYSIS = envelope(
    "LoadAnalysisEnvelope", **LoadAnalysisSerializer().get_fields(),
    load_analysis=LoadAnalysisSerializer(help_text="The same analysis under the seed's key."))


class PointSerializer(serializers.Serializer):
    t = serializers.DateTimeField()
    value = serializers.FloatField(help_text="The sample, or the period's mean.")
    low = serializers.FloatField()
    high = serializers.FloatField()
    count = serializers.IntegerField(help_text="Samples in the period.")


class SeriesSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="The probe target of a ping; otherwise empty.")
    points = PointSerializer(many=True)


METRICS = envelope("MetricSeriesEnvelope", server_id=serializers.IntegerField(),
                   relay_id=serializers.IntegerField(allow_null=True),
                   metric=serializers.ChoiceField(choices=Metric.choices),
                   range=serializers.CharField(), series=SeriesSerializer(many=True))
