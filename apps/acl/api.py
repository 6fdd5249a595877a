"""The ACL API: devices, derpMap versions and downloads, the download log for staff. Each view
parses, checks, calls one service. Admission tokens and other users' derpMap URLs never appear."""

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.views import APIView

from apps.accounts import policy
from apps.accounts.models import User
from derpmgr.api import EnvelopePagination, allowed, envelope, filter_form, ok, validated
from derpmgr.api_forms import form_serializer
from derpmgr.errors import NotFound
from derpmgr.net import client_ip

from . import services
from .forms import MAX_ID, DeviceForm, DownloadForm, GenerateForm, LogFilterForm, RenameForm, UserFilterForm
from .models import AclAccess, AclConfig, AclFormat, AclLog, Device


class FormatIsAParameter(DefaultContentNegotiation):
    """?format= names the derpMap's format here, not DRF's renderer (URL_FORMAT_OVERRIDE)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# --- Output ----------------------------------------------------------------------------------

class DeviceSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id")

    class Meta:
        model = Device
        fields = ["id", "user", "name", "node_key", "last_seen_at", "last_ip", "created_at"]


class AclLogSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id")
    user_email = serializers.EmailField(source="user.email")

    class Meta:
        model = AclLog
        fields = ["id", "user", "user_email", "version", "format", "ip", "location", "created_at"]


class AclSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    version = serializers.IntegerField()
    issued_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()
    regions = serializers.ListField(child=serializers.IntegerField(),
                                    help_text="The derpMap's region ids.")
    derp_map = serializers.JSONField(help_text="The derpMap as Tailscale reads it.")
    feed_url = serializers.CharField(required=False, help_text=(
        "The caller's own secret derpMap URL (only in answers about oneself)."))


# --- Input: the pages' forms with strict JSON types --------------------------------------------

GenerateInput = form_serializer(GenerateForm, "AclGenerateInput")
DeviceInput = form_serializer(DeviceForm, "DeviceInput")
RenameInput = form_serializer(RenameForm, "DeviceRenameInput")

ACL = envelope("AclEnvelope", acl=AclSerializer())
DEVICE = envelope("DeviceEnvelope", device=DeviceSerializer())
REMOVED = envelope("DeviceRemoved", removed=serializers.IntegerField(help_text="Its id."))


def _acl(config: AclConfig, *, feed_url: str | None) -> dict:
    data = {"user_id": config.user_id, "version": config.version, "issued_at": config.issued_at,
            "expires_at": config.expires_at, "reason": config.reason,
            "regions": [int(r) for r in config.derp_map["Regions"]], "derp_map": config.derp_map}
    if feed_url:  # the owner's own secret URL only
        data["feed_url"] = feed_url
    return data


def _visible_device(actor, pk: int) -> Device:
    """The device named in the path; an unknown or someone else's id is the same 404."""
    device = Device.objects.visible_to(actor).filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if device is None:
        raise NotFound(_("No such device."))
    return device


# --- Views -----------------------------------------------------------------------------------

class GenerateView(APIView):
    """POST /api/acl/generate — a new derpMap version for a user (admins) or for oneself."""

    @extend_schema(request=GenerateInput, responses={201: ACL})
    def post(self, request):
        data = validated(GenerateInput, request)
        actor = request.user
        user = (User.objects.visible_to(actor).filter(pk=data["user_id"]).first()
                if data.get("user_id") else actor)
        if user is None:
            raise NotFound(_("No such user."), fields={"user_id": [_("Unknown user.")]})
        config = services.reissue(actor=actor, user=user, server_ids=data["server_ids"],
                                  ip=client_ip(request))
        own = services.feed_url(user) if user.pk == actor.pk else None
        return ok({"acl": _acl(config, feed_url=own)}, status_code=201)


_USER_ID = OpenApiParameter("user_id", int, required=False, description="staff: one user's")


@extend_schema_view(get=extend_schema(parameters=[_USER_ID]))
class DevicesView(ListAPIView):
    """GET /api/acl/devices — one's devices (admins: every customer's, ?user_id= to filter);
    POST — register a device: {"name", "node_key"}."""

    serializer_class = DeviceSerializer
    pagination_class = EnvelopePagination

    def get_queryset(self):
        if policy.can(self.request.user, policy.STAFF):  # everyone's devices, not one's own
            policy.require(self.request.user, "acl.view_device")
        form = filter_form(UserFilterForm, self.request)
        return form.apply(Device.objects.visible_to(self.request.user))

    @extend_schema(request=DeviceInput, responses={201: DEVICE})
    def post(self, request):
        data = validated(DeviceInput, request)
        device = services.add_device(user=request.user, name=data["name"], node_key=data["node_key"],
                                     ip=client_ip(request))
        return ok({"device": DeviceSerializer(device).data}, status_code=201)


class DeviceView(APIView):
    """PATCH /api/acl/devices/<id> — rename ({"name"}); DELETE — remove."""

    @extend_schema(request=RenameInput, responses=DEVICE)
    def patch(self, request, pk: int):
        device = _visible_device(request.user, pk)
        data = validated(RenameInput, request)
        services.rename_device(actor=request.user, device=device, name=data["name"],
                               ip=client_ip(request))
        return ok({"device": DeviceSerializer(device).data})

    @extend_schema(responses={200: REMOVED})
    def delete(self, request, pk: int):
        device = _visible_device(request.user, pk)
        services.remove_device(actor=request.user, device=device, ip=client_ip(request))
        return ok({"removed": device.pk})


class DownloadView(APIView):
    """GET /api/acl/download?format=tailscale|headscale|json[&omit_default_regions=false] — one's
    current derpMap as a file (logged). Refusals say what is missing."""

    content_negotiation_class = FormatIsAParameter

    @extend_schema(parameters=[OpenApiParameter("format", str, required=True,
                                                enum=list(AclFormat.values)),
                               OpenApiParameter("omit_default_regions", bool, required=False,
                                                description="Default true: only one's relays.")],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request):
        data = filter_form(DownloadForm, request).cleaned_data
        body, content_type, filename = services.download(
            user=request.user, fmt=data["format"], ip=client_ip(request),
            omit_default_regions=data["omit_default_regions"])
        return attachment(body, content_type, filename)


class FeedRotateView(APIView):
    """POST /api/acl/feed/rotate — a new derpMap URL for oneself; the old one stops working."""

    permission_classes = [allowed(policy.CUSTOMER)]

    @extend_schema(request=None, responses=inline_serializer("FeedRotated", {
        "success": serializers.BooleanField(), "feed_url": serializers.URLField()}))
    def post(self, request):
        return ok({"feed_url": services.rotate_feed(user=request.user, ip=client_ip(request))})


def attachment(body: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@extend_schema_view(get=extend_schema(parameters=[
    _USER_ID, OpenApiParameter("format", str, required=False, enum=list(AclAccess.values))]))
class LogsView(ListAPIView):
    """GET /api/acl/logs — every derpMap download, newest first (admins and super admins);
    ?user_id= and ?format= filter."""

    permission_classes = [allowed("acl.view_acllog")]
    content_negotiation_class = FormatIsAParameter
    serializer_class = AclLogSerializer
    pagination_class = EnvelopePagination

    def get_queryset(self):
        form = filter_form(LogFilterForm, self.request)
        return form.apply(AclLog.objects.visible_to(self.request.user).select_related("user"))
