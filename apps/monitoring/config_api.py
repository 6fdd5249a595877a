"""Alert channels and monitoring thresholds over the API, for super admins (an admin is told it
is a super admin's, 403; anyone else that nothing is here, 404). Each view parses the body with
a serializer, calls one verb of config.py and answers in the envelope; a refusal is a 400 naming
the fields, with nothing saved. A webhook's secret appears once, in the answer to the POST that
generated it; afterwards only whether one is set."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.views import APIView

from apps.accounts import policy
from derpmgr.api import allowed, ok, validated
from derpmgr.api_fields import StrictBooleanField, StrictCharField, StrictChoiceField, StrictIntegerField
from derpmgr.errors import NotFound
from derpmgr.net import client_ip

from . import config
from .models import AlertChannel, ChannelKind, MonitoringSettings, Severity

SUPERADMIN_ONLY = allowed(policy.SUPERADMIN)


@extend_schema_field(serializers.ListField(child=serializers.CharField()))
class LinesField(serializers.Field):
    """Text with one entry per line, or a list of strings."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            return data
        if isinstance(data, list) and all(isinstance(item, str) for item in data):
            return "\n".join(data)
        raise serializers.ValidationError(_("Give a list of strings or text, one per line."))

    def to_representation(self, value):
        return [line for line in value.splitlines() if line.strip()]


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, so that a misspelt field is not silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: [_("Unknown field.")] for key in unknown})
        return super().to_internal_value(data)


# --- Channels --------------------------------------------------------------------------------

class ChannelSerializer(serializers.ModelSerializer):
    recipients = LinesField(help_text="E-mail addresses; empty: every active admin.")
    has_secret = serializers.SerializerMethodField(help_text="Whether the webhook has a secret "
                                                             "(it is never shown again).")

    class Meta:
        model = AlertChannel
        fields = ["id", "name", "kind", "enabled", "min_severity", "recipients", "url",
                  "has_secret", "created_at", "updated_at"]

    def get_has_secret(self, channel) -> bool:
        return bool(channel.secret_encrypted)


class ChannelEnvelope(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    channel = ChannelSerializer()
    secret = serializers.CharField(required=False, help_text="Only in the answer that generated "
                                                             "it: copy it now.")
    message = serializers.CharField(required=False)


class ChannelListEnvelope(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    count = serializers.IntegerField()
    channels = ChannelSerializer(many=True)


class ChannelInput(StrictSerializer):
    name = StrictCharField(max_length=64)
    kind = StrictChoiceField(choices=ChannelKind.choices)
    enabled = StrictBooleanField(required=False)
    min_severity = StrictChoiceField(choices=Severity.choices, required=False)
    recipients = LinesField(required=False, help_text="E-mail channels: addresses (a list, or "
                                                      "one per line); empty: every active admin.")
    url = StrictCharField(required=False, allow_blank=True, max_length=500,
                          help_text="Webhooks: an http(s) URL on a public address.")
    secret = StrictCharField(required=False, allow_blank=True, write_only=True,
                             help_text="Webhooks: the signing key (16 to 200 characters); "
                                             "left out, one is generated and answered once.")


class ChannelPatch(ChannelInput):
    regenerate_secret = StrictBooleanField(required=False, write_only=True)


def _input(serializer_class, request, *, partial=False) -> dict:
    return dict(validated(serializer_class, request, partial=partial))


def _channel(request, pk: int) -> AlertChannel:
    channel = AlertChannel.objects.visible_to(request.user).filter(pk=pk).first()
    if channel is None:
        raise NotFound(_("No such channel."))
    return channel


def _with_secret(channel: AlertChannel, secret: str) -> dict:
    answer = {"channel": ChannelSerializer(channel).data}
    if secret:
        answer["secret"] = secret
        answer["message"] = _("Copy the secret now: it is not shown again.")
    return answer


class MessageEnvelope(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()


class ChannelListView(APIView):
    """GET /api/monitoring/channels — every alert channel. POST — add one (201); a webhook's
    generated secret is in this answer only."""

    permission_classes = [SUPERADMIN_ONLY]

    @extend_schema(responses=ChannelListEnvelope, operation_id="monitoring_channels_list")
    def get(self, request):
        channels = ChannelSerializer(AlertChannel.objects.visible_to(request.user), many=True).data
        return ok({"count": len(channels), "channels": channels})

    @extend_schema(request=ChannelInput, responses={201: ChannelEnvelope})
    def post(self, request):
        channel, secret = config.create_channel(actor=request.user, data=_input(ChannelInput, request),
                                                ip=client_ip(request))
        return ok(_with_secret(channel, secret), status_code=201)


class ChannelDetailView(APIView):
    """GET /api/monitoring/channels/<id>; PATCH — change the given fields (`regenerate_secret`:
    a new secret, answered once); DELETE — remove it."""

    permission_classes = [SUPERADMIN_ONLY]

    @extend_schema(responses=ChannelEnvelope)
    def get(self, request, pk):
        return ok({"channel": ChannelSerializer(_channel(request, pk)).data})

    @extend_schema(request=ChannelPatch, responses=ChannelEnvelope)
    def patch(self, request, pk):
        channel = _channel(request, pk)
        data = _input(ChannelPatch, request, partial=True)
        regenerate = data.pop("regenerate_secret", False)
        channel, secret = config.update_channel(actor=request.user, channel=channel, data=data,
                                                regenerate_secret=regenerate,
                                                ip=client_ip(request))
        return ok(_with_secret(channel, secret))

    @extend_schema(request=None, responses={200: MessageEnvelope})
    def delete(self, request, pk):
        config.delete_channel(actor=request.user, channel=_channel(request, pk),
                              ip=client_ip(request))
        return ok({"message": _("Channel deleted.")})


class TestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    response_status = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    recipients = serializers.IntegerField(help_text="E-mail: addresses the test was queued for.")


class TestEnvelope(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    test = TestResultSerializer()


class ChannelTestView(APIView):
    """POST /api/monitoring/channels/<id>/test — send a test notification now: a webhook's
    answer status, or how many e-mails were queued."""

    permission_classes = [SUPERADMIN_ONLY]

    @extend_schema(request=None, responses=TestEnvelope)
    def post(self, request, pk):
        result = config.test_channel(actor=request.user, channel=_channel(request, pk),
                                     ip=client_ip(request))
        return ok({"test": TestResultSerializer(result).data})


# --- Thresholds ------------------------------------------------------------------------------

class SettingsSerializer(serializers.ModelSerializer):
    probe_targets = LinesField()

    class Meta:
        model = MonitoringSettings
        fields = [*config.SETTINGS_FIELDS, "updated_at"]


class SettingsEnvelope(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    settings = SettingsSerializer()


class SettingsPatch(StrictSerializer):
    failures_before_unhealthy = StrictIntegerField(required=False)
    successes_before_healthy = StrictIntegerField(required=False)
    relay_failures_before_alert = StrictIntegerField(required=False)
    latency_warning_ms = StrictIntegerField(required=False)
    disk_warning_percent = StrictIntegerField(required=False)
    memory_warning_percent = StrictIntegerField(required=False)
    failover_after_minutes = StrictIntegerField(required=False)
    failover_cooldown_minutes = StrictIntegerField(required=False)
    repeat_notification_minutes = StrictIntegerField(required=False)
    probe_targets = LinesField(required=False, help_text="Host names or IP addresses (at most "
                                                         "20) the servers ping.")
    speed_test_url = StrictCharField(required=False, allow_blank=True, max_length=200)


class SettingsView(APIView):
    """GET /api/monitoring/settings — the thresholds and targets; PATCH — change the given ones
    (each checked against its range; a refusal changes nothing)."""

    permission_classes = [SUPERADMIN_ONLY]

    @extend_schema(responses=SettingsEnvelope)
    def get(self, request):
        return ok({"settings": SettingsSerializer(MonitoringSettings.current()).data})

    @extend_schema(request=SettingsPatch, responses=SettingsEnvelope)
    def patch(self, request):
        current = config.update_settings(actor=request.user,
                                         changes=_input(SettingsPatch, request, partial=True),
                                         ip=client_ip(request))
        return ok({"settings": SettingsSerializer(current).data})
