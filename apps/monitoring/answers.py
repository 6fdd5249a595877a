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


class ServerLoadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField()
    load1 = serializers.FloatField(allow_null=True)
    cpus = serializers.FloatField(allow_null=True)
    load_per_cpu = serializers.FloatField(allow_null=True)
    mem_percent = serializers.FloatField(allow_null=True)
    disk_percent = serializers.FloatField(allow_null=True)
    relays = serializers.IntegerField()
    max_containers = serializers.IntegerField()
    relay_percent = serializers.FloatField()
    traffic_month_bytes = serializers.IntegerField()
    monthly_quota_bytes = serializers.IntegerField(allow_null=True)
    monthly_remaining_bytes = serializers.IntegerField(allow_null=True)
    latency = _MS
    health = ServerHealthCounts()
    open_alerts = serializers.IntegerField()
    usage = serializers.ChoiceField(choices=[OVER, UNDER, NORMAL])
    reasons = serializers.ListField(child=serializers.CharField(),
                                    help_text="Why the server counts as over-used.")


class ServerRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


# A suggested move: {"from": {...}, "to": {...}, ...} ("from" is a Python keyword).
MoveSerializer = type("MoveSerializer", (serializers.Serializer,), {
    "from": ServerRef(), "to": ServerRef(), "relays": serializers.IntegerField(),
    "message": serializers.CharField()})


class FleetTotals(serializers.Serializer):
    servers = serializers.IntegerField()
    healthy = serializers.IntegerField()
    relays = serializers.IntegerField()
    capacity = serializers.IntegerField()
    traffic_month_bytes = serializers.IntegerField()
    open_alerts = serializers.IntegerField()


class Thresholds(serializers.Serializer):
    high_relay_percent = serializers.IntegerField()
    low_relay_percent = serializers.IntegerField()
    high_load_per_cpu = serializers.FloatField()
    memory_percent = serializers.IntegerField()
    disk_percent = serializers.IntegerField()


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
