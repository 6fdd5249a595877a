"""The fleet over the API: add, list, check, re-pin, change status, reconcile, drain, delete.
Admins and super admins only; anyone else signed in is told nothing is here (404)."""

import dataclasses

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.containers import services as containers
from derpmgr.api import FormInvalid, IsStaffRole, error_body, ok, parse
from derpmgr.errors import NotFound
from derpmgr.net import client_ip

from . import drivers, services
from .forms import AddServerForm, RepinForm, ServerChoiceForm, StatusForm
from .models import Server


class ServerSerializer(serializers.ModelSerializer):
    """A server as operators see it: never its credential, never its certificate key."""

    containers = serializers.SerializerMethodField(help_text="Live relays on the server.")
    monthly_remaining_bytes = serializers.IntegerField(read_only=True, allow_null=True)
    host_key_fingerprint = serializers.SerializerMethodField()

    class Meta:
        model = Server
        fields = ["id", "name", "aliyun_account", "location", "public_ip", "domain", "region",
                  "status", "containers", "max_containers", "port_range_start", "port_range_end",
                  "traffic_total_bytes", "traffic_month_bytes", "monthly_quota_bytes",
                  "monthly_remaining_bytes", "quota_reset_day", "ssh_host", "ssh_port", "ssh_user",
                  "ssh_auth", "host_key_fingerprint", "cert_fingerprint", "derp_image",
                  "last_error", "created_at", "updated_at"]

    def get_containers(self, server) -> int:
        relays = getattr(server, "relays", None)
        if relays is None:
            relays = services.with_relay_counts(Server.objects.filter(pk=server.pk))[0].relays
        return relays

    def get_host_key_fingerprint(self, server) -> str:
        return drivers.host_key_fingerprint(server.ssh_host_key) if server.ssh_host_key else ""


def _valid(form):
    """The bound form when valid; otherwise the envelope's 400 naming each wrong field."""
    if not form.is_valid():
        fields = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
        raise FormInvalid(next(iter(fields.values()))[0], fields=fields)
    return form


def _server(request, pk: int) -> Server:
    server = services.with_relay_counts(Server.objects.visible_to(request.user)).filter(pk=pk).first()
    if server is None:
        raise NotFound(_("No such server."))
    return server


def _fresh(server: Server) -> dict:
    return ServerSerializer(services.with_relay_counts(Server.objects.filter(pk=server.pk))[0]).data


class AddServerView(APIView):
    """POST /api/server/add — connect, pin the host key, check the engine, upload the
    certificate, save. Nothing is saved when any step fails."""

    permission_classes = [IsStaffRole]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        if not hasattr(request.data, "get"):
            raise exceptions.ParseError(_("Send a JSON object."))
        form = _valid(AddServerForm(data=request.data))
        server = services.add_server(actor=request.user, data=form.new_server(),
                                     ip=client_ip(request))
        return ok({"server": _fresh(server),
                   "host_key_fingerprint": drivers.host_key_fingerprint(server.ssh_host_key)},
                  status_code=201)


class ServerListView(APIView):
    """GET /api/server/list — every server with its relay count and traffic."""

    permission_classes = [IsStaffRole]

    @extend_schema(responses=ServerSerializer(many=True))
    def get(self, request):
        servers = services.with_relay_counts(Server.objects.visible_to(request.user))
        data = ServerSerializer(servers, many=True).data
        return ok({"count": len(data), "servers": data})


class HealthCheckView(APIView):
    """GET /api/server/health_check[?server_id=] — SSH response time and engine version, checked
    now. A read: nothing is recorded or marked."""

    permission_classes = [IsStaffRole]

    @extend_schema(parameters=[OpenApiParameter("server_id", int, required=False)],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request):
        form = _valid(ServerChoiceForm(request.query_params))
        servers = Server.objects.visible_to(request.user)
        if form.cleaned_data["server_id"]:
            servers = [_server(request, form.cleaned_data["server_id"])]
        probes = services.probe_many(servers)
        return ok({"count": len(probes), "servers": [{
            "id": probe.server.pk, "name": probe.server.name, "public_ip": probe.server.public_ip,
            "status": probe.server.status, "ok": probe.ok, "ssh_ms": probe.ssh_ms,
            "engine_version": probe.engine_version or None, "error": probe.error or None,
            "error_code": probe.error_code or None} for probe in probes]})


class ServerDetailView(APIView):
    """GET /api/server/<id> — one server; DELETE — reclaim an empty (or drained) server."""

    permission_classes = [IsStaffRole]

    @extend_schema(responses=ServerSerializer)
    def get(self, request, pk):
        return ok({"server": ServerSerializer(_server(request, pk)).data})

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def delete(self, request, pk):
        server = _server(request, pk)
        services.delete_server(actor=request.user, server=server, ip=client_ip(request))
        return ok({"deleted": pk})


class RepinView(APIView):
    """POST /api/server/<id>/repin — accept the host key the server presents now."""

    permission_classes = [IsStaffRole]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk):
        server = _server(request, pk)
        data = parse(RepinForm, request)
        seen = services.repin_host_key(actor=request.user, server=server,
                                       expected_fingerprint=data["expected_fingerprint"],
                                       ip=client_ip(request))
        return ok({"host_key_fingerprint": seen, "server": _fresh(server)})


class StatusView(APIView):
    """POST /api/server/<id>/status — {"status": healthy|unhealthy|over_quota|draining|maintenance}."""

    permission_classes = [IsStaffRole]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk):
        server = _server(request, pk)
        data = parse(StatusForm, request)
        services.set_status(actor=request.user, server=server, status=data["status"],
                            ip=client_ip(request))
        return ok({"server": _fresh(server)})


class ReconcileView(APIView):
    """POST /api/server/<id>/reconcile — make the containers match the database; the report says
    what changed. 502 with the report when the server could not be reached."""

    permission_classes = [IsStaffRole]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk):
        server = _server(request, pk)
        report = containers.reconcile_server(server=server, actor=request.user)
        body = {**dataclasses.asdict(report), "changed": report.changed}
        if report.error:
            return Response(error_body("server_unreachable", report.error, report=body),
                            status=502)
        return ok({"report": body})


class DrainView(APIView):
    """POST /api/server/<id>/drain — move every relay elsewhere; the server takes no new ones."""

    permission_classes = [IsStaffRole]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk):
        server = _server(request, pk)
        report = containers.drain_server(actor=request.user, server=server, ip=client_ip(request))
        return ok({"report": {"moved": report.moved,
                              "failed": {str(k): v for k, v in report.failed.items()}},
                   "server": _fresh(server)})
