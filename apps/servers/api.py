"""The fleet over the API: add, list, check, re-pin, change status, reconcile, drain, delete.
Admins and super admins only; anyone else signed in is told nothing is here (404)."""

import datetime

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.views import APIView

from apps.containers import requests as relay_requests
from apps.operations.api import ACCEPTED, OperationSerializer, accepted
from apps.traffic import series as traffic_series
from derpmgr.api import (
    allowed,
    envelope,
    filter_form,
    ok,
    paginated_as,
    query_parameters,
    validated,
    validated_query,
)
from derpmgr.api_fields import StrictIntegerField
from derpmgr.api_forms import MAX_ID, form_serializer
from derpmgr.errors import NotFound
from derpmgr.net import client_ip

from . import drivers, requests, services
from .filters import ServerFilterForm
from .forms import AddServerForm, RepinForm, StatusForm
from .models import Server, ServerStatus


class ServerSerializer(serializers.ModelSerializer):
    """A server as operators see it: never its credential, never its certificate key."""

    containers = serializers.SerializerMethodField(help_text="Live relays on the server.")
    monthly_remaining_bytes = serializers.IntegerField(read_only=True, allow_null=True)
    host_key_fingerprint = serializers.SerializerMethodField()
    next_reset = serializers.SerializerMethodField(
        help_text="The day the monthly quota starts again (panel time); null without a quota.")

    class Meta:
        model = Server
        fields = ["id", "name", "aliyun_account", "location", "public_ip", "domain", "region",
                  "status", "containers", "max_containers", "port_range_start", "port_range_end",
                  "traffic_total_bytes", "traffic_month_bytes", "monthly_quota_bytes",
                  "monthly_remaining_bytes", "quota_reset_day", "rate_bps", "traffic_period_start",
                  "next_reset", "last_sample_at", "ssh_host", "ssh_port", "ssh_user",
                  "ssh_auth", "host_key_fingerprint", "cert_fingerprint", "derp_image",
                  "last_error", "created_at", "updated_at"]

    def get_containers(self, server) -> int:
        relays = getattr(server, "relays", None)
        if relays is None:
            relays = services.with_relay_counts(Server.objects.filter(pk=server.pk))[0].relays
        return relays

    def get_next_reset(self, server) -> datetime.date | None:
        return traffic_series.next_reset(server)

    def get_host_key_fingerprint(self, server) -> str:
        return drivers.host_key_fingerprint(server.ssh_host_key) if server.ssh_host_key else ""


# --- Input: the pages' forms (forms.py) with strict JSON types -------------------------------

AddServerInput = form_serializer(AddServerForm, "AddServerInput")
RepinInput = form_serializer(RepinForm, "RepinInput")
StatusInput = form_serializer(StatusForm, "ServerStatusInput")


class HealthCheckQuery(serializers.Serializer):
    server_id = StrictIntegerField(required=False, min_value=1, max_value=MAX_ID,
                                   help_text="Check this server only; left out: every server.")


# --- Output ------------------------------------------------------------------------------------

HEALTHY, DEGRADED, UNHEALTHY, NO_SERVERS = "healthy", "degraded", "unhealthy", "no_servers"
FLEET_HEALTH = [HEALTHY, DEGRADED, UNHEALTHY, NO_SERVERS]


def fleet_status(servers) -> str:
    """The seed's one-word health of the servers checked, as last recorded (the check under
    way updates it): healthy when every one is, unhealthy when none is."""
    statuses = [server.status for server in servers]
    if not statuses:
        return NO_SERVERS
    healthy = statuses.count(ServerStatus.HEALTHY)
    return HEALTHY if healthy == len(statuses) else DEGRADED if healthy else UNHEALTHY


SERVER = envelope("ServerEnvelope", server=ServerSerializer())
ADDED = envelope("ServerAddAccepted", operation=OperationSerializer(), server=ServerSerializer(),
                 server_id=serializers.IntegerField(help_text="The new server's id (the seed's "
                                                              "key; also server.id)."))
_STATUS = serializers.ChoiceField(choices=FLEET_HEALTH, help_text=(
    "The servers' health as last recorded: healthy (all), degraded (some), unhealthy (none)."))
HEALTH_CHECKING = envelope("HealthCheckAccepted", operation=OperationSerializer(), status=_STATUS)
NOTHING_TO_CHECK = envelope("HealthCheckEmpty", status=_STATUS, count=serializers.IntegerField(),
                            servers=serializers.ListField(child=serializers.DictField()))
DRAINING = envelope("DrainAccepted", operation=OperationSerializer(), server=ServerSerializer())


def _server(request, pk: int) -> Server:
    server = services.with_relay_counts(Server.objects.visible_to(request.user)).filter(pk=pk).first()
    if server is None:
        raise NotFound(_("No such server."))
    return server


def _fresh(server: Server) -> dict:
    return ServerSerializer(services.with_relay_counts(Server.objects.filter(pk=server.pk))[0]).data


CAN_VIEW = allowed("servers.view_server")
CAN_CHANGE = allowed("servers.change_server")
CAN_OPERATE = allowed("servers.operate_server")


class AddServerView(APIView):
    """POST /api/server/add — check the details, save the server (taking no relays yet) and
    answer 202: a worker connects, pins the host key, checks the engine and uploads the
    certificate (GET the operation for the outcome). If that fails, nothing stays."""

    permission_classes = [allowed("servers.add_server")]

    @extend_schema(request=AddServerInput, responses={202: ADDED})
    def post(self, request):
        data = validated(AddServerInput, request)
        server, operation = requests.add(actor=request.user, data=data.form.new_server(),
                                          ip=client_ip(request))
        return accepted(request, operation, server=_fresh(server), server_id=server.pk)


class ServerListView(ListAPIView):
    """GET /api/server/list — the servers by name, a page at a time (?page=, ?page_size=; the
    seed's "servers" and "count", the number of servers that match), each with its relay count
    and traffic; ?status=, ?region=, ?q= (part of the name, address or location) filter."""

    permission_classes = [CAN_VIEW]
    serializer_class = ServerSerializer
    pagination_class = paginated_as("servers")

    def get_queryset(self):
        filters = filter_form(ServerFilterForm, self.request)
        return services.with_relay_counts(filters.apply(Server.objects.visible_to(self.request.user)))

    @extend_schema(parameters=query_parameters(ServerFilterForm))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class HealthCheckView(APIView):
    """GET /api/server/health_check[?server_id=] — check SSH and the container engine now: 202
    with the check's operation (its result lists each server's SSH time and engine version) and
    the seed's `status`, the servers' health as last recorded. Asking again while a check of the
    same servers runs answers with that one. No servers: 200, nothing to check."""

    permission_classes = [CAN_OPERATE]

    @extend_schema(parameters=[HealthCheckQuery],
                   responses={202: HEALTH_CHECKING, 200: NOTHING_TO_CHECK})
    def get(self, request):
        named = validated_query(HealthCheckQuery, request).get("server_id")
        servers = [_server(request, named)] if named else None
        operation = requests.probe(actor=request.user, ip=client_ip(request), servers=servers)
        if operation is None:
            return ok({"status": NO_SERVERS, "count": 0, "servers": []})
        checked = servers or Server.objects.visible_to(request.user).exclude(
            status=ServerStatus.SETTING_UP)
        return accepted(request, operation, status=fleet_status(checked))


class ServerDetailView(APIView):
    """GET /api/server/<id> — one server; DELETE — reclaim an empty (or drained) server: 202."""

    def get_permissions(self):
        action = "servers.delete_server" if self.request.method == "DELETE" else "servers.view_server"
        return [allowed(action)()]

    @extend_schema(responses=SERVER)
    def get(self, request, pk):
        return ok({"server": ServerSerializer(_server(request, pk)).data})

    @extend_schema(responses=ACCEPTED)
    def delete(self, request, pk):
        server = _server(request, pk)
        return accepted(request, requests.delete(actor=request.user, server=server,
                                                 ip=client_ip(request)))


class RepinView(APIView):
    """POST /api/server/<id>/repin — accept the host key the server presents now: 202."""

    permission_classes = [CAN_CHANGE]

    @extend_schema(request=RepinInput, responses=ACCEPTED)
    def post(self, request, pk):
        server = _server(request, pk)
        data = validated(RepinInput, request)
        return accepted(request, requests.repin(
            actor=request.user, server=server, expected_fingerprint=data["expected_fingerprint"],
            ip=client_ip(request)))


class StatusView(APIView):
    """POST /api/server/<id>/status — {"status": healthy|unhealthy|over_quota|draining|maintenance}."""

    permission_classes = [CAN_CHANGE]

    @extend_schema(request=StatusInput, responses=SERVER)
    def post(self, request, pk):
        server = _server(request, pk)
        data = validated(StatusInput, request)
        services.set_status(actor=request.user, server=server, status=data["status"],
                            ip=client_ip(request))
        return ok({"server": _fresh(server)})


class ReconcileView(APIView):
    """POST /api/server/<id>/reconcile — make the containers match the database: 202 (the
    operation's result says what changed)."""

    permission_classes = [CAN_OPERATE]

    @extend_schema(request=None, responses=ACCEPTED)
    def post(self, request, pk):
        server = _server(request, pk)
        return accepted(request, relay_requests.reconcile(actor=request.user, server=server,
                                                          ip=client_ip(request)))


class DrainView(APIView):
    """POST /api/server/<id>/drain — the server takes no new relays; a worker moves every relay
    elsewhere: 202."""

    permission_classes = [CAN_OPERATE]

    @extend_schema(request=None, responses={202: DRAINING})
    def post(self, request, pk):
        server = _server(request, pk)
        operation = relay_requests.drain(actor=request.user, server=server, ip=client_ip(request))
        return accepted(request, operation, server=_fresh(server))
