"""The relay API: operators assign, allocate, stop, start, restart, remove and move relays and
trigger failover; a customer reads their own relays. Each view parses, checks, calls a service.
Admission tokens never leave the server."""

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import RentalState, Role, User
from apps.operations.api import ACCEPTED, OperationSerializer, accepted
from apps.operations.models import OperationKind
from apps.servers.models import Server
from derpmgr.api import allowed, envelope, ok, validated, validated_query
from derpmgr.api_fields import ChoiceLabelField, StrictChoiceField, StrictIntegerField
from derpmgr.errors import NotFound, ServiceError
from derpmgr.net import client_ip

from . import requests, services
from .models import DerpInstance, InstanceStatus

MAX_ID = 2**63 - 1  # a primary key is a signed 64-bit integer
MAX_SERVERS_PER_USER = 20


# --- Input -----------------------------------------------------------------------------------

def _id_field(**kwargs):
    return StrictIntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class AssignInput(serializers.Serializer):
    user_id = _id_field(help_text="The customer (an active rental is needed).")
    servers = StrictIntegerField(required=False, min_value=1, max_value=MAX_SERVERS_PER_USER,
                                 help_text="How many relays; left out: the panel's default.")
    server_ids = serializers.ListField(child=_id_field(), required=False, default=list,
                                       max_length=MAX_SERVERS_PER_USER,
                                       help_text="Servers to place on first (no more than servers).")

    def validate(self, data):
        wanted = data.get("servers") or settings.DEFAULT_SERVERS_PER_RENTAL
        if len(set(data["server_ids"])) > wanted:
            raise serializers.ValidationError(
                {"server_ids": [_("server_ids names more servers than servers.")]})
        return data


class AllocateInput(serializers.Serializer):
    user_id = _id_field(help_text="The customer.")
    server_id = _id_field(help_text="The server to place the relay on.")


class StopInput(serializers.Serializer):
    """One relay (container_id, or instance_id: the same) or every relay of a user (user_id)."""

    container_id = _id_field(required=False, help_text="The relay to stop (the seed's name).")
    instance_id = _id_field(required=False, help_text="The relay to stop (same as container_id).")
    user_id = _id_field(required=False, help_text="Or: stop every relay of this customer.")

    def validate(self, data):
        relay_ids = {data[key] for key in ("container_id", "instance_id") if key in data}
        if len(relay_ids) > 1:
            raise serializers.ValidationError(
                {"container_id": [_("container_id and instance_id name different relays.")]})
        if bool(relay_ids) == ("user_id" in data):
            raise serializers.ValidationError(_("Name either container_id or user_id."))
        return {"relay_id": relay_ids.pop() if relay_ids else None, "user_id": data.get("user_id")}


class MigrateInput(serializers.Serializer):
    target_server_id = _id_field(required=False, allow_null=True,
                                 help_text="Left out: the least loaded server.")


class ListFilter(serializers.Serializer):
    user_id = _id_field(required=False)
    server_id = _id_field(required=False)
    status = StrictChoiceField(required=False, choices=InstanceStatus.choices)


def _customer(actor, user_id: int, *, needs_rental: bool = False) -> User:
    user = User.objects.visible_to(actor).filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("No such user."), code="unknown_user", fields={"user_id": [_("Unknown user.")]})
    if user.role != Role.USER or not user.is_active:
        raise ServiceError(_("Relays are for active customer accounts only."), code="not_a_customer",
                           fields={"user_id": [_("Not a customer.")]})
    if needs_rental and user.rental_state != RentalState.ACTIVE:
        raise ServiceError(_("This customer has no active rental."), code="no_active_rental",
                           status=409, fields={"user_id": [_("No active rental.")]})
    return user


def _servers(actor, server_ids: list[int]) -> list[Server]:
    wanted = list(dict.fromkeys(server_ids))
    found = {s.pk: s for s in Server.objects.visible_to(actor).filter(
        pk__in=[i for i in wanted if i <= MAX_ID])}
    unknown = [i for i in wanted if i not in found]
    if unknown:
        raise NotFound(_("Unknown server ids: %(ids)s") % {"ids": ", ".join(map(str, unknown))},
                       code="unknown_servers", fields={"server_ids": [_("Unknown server.")]})
    return [found[i] for i in wanted]


def _instance(actor, pk: int) -> DerpInstance:
    """The relay named in the path or body; an unknown or out-of-range id is the same 404."""
    instance = (DerpInstance.objects.visible_to(actor).select_related("server", "user")
                .filter(pk=pk).first() if 0 < pk <= MAX_ID else None)
    if instance is None:
        raise NotFound(_("No such relay."))
    return instance


# --- Output ----------------------------------------------------------------------------------

class InstanceSerializer(serializers.ModelSerializer):
    """An operator's view of a relay (never its admission token)."""

    user = serializers.IntegerField(source="user_id")
    user_email = serializers.EmailField(source="user.email")
    server = serializers.IntegerField(source="server_id")
    server_name = serializers.CharField(source="server.name")
    hostname = serializers.CharField(source="server.hostname")
    replaces = serializers.IntegerField(source="replaces_id", allow_null=True)

    class Meta:
        model = DerpInstance
        fields = ["id", "user", "user_email", "server", "server_name", "hostname", "port", "status",
                  "container_name", "attempts", "last_error", "replaces", "created_at", "started_at",
                  "stopped_at"]


def _instances(queryset) -> list[dict]:
    return InstanceSerializer(queryset.select_related("server", "user"), many=True).data


def _one(instance: DerpInstance) -> dict:
    return InstanceSerializer(instance).data


# --- Operators -------------------------------------------------------------------------------
# Every change is recorded as an operation and answered 202 with it; a worker does the SSH part
# (GET /api/operations/<id> follows it).

CAN_PLACE = allowed("containers.add_derpinstance")
ALLOCATED = envelope("AllocateAccepted", operation=OperationSerializer(),
                     container_id=serializers.IntegerField(
                         allow_null=True, help_text="The relay, once placed (else null)."))
STOPPED = envelope("StopAccepted", operation=OperationSerializer(required=False, help_text=(
    "Stopping one relay: its operation.")), operations=OperationSerializer(
    many=True, required=False, help_text="Stopping a user's relays: one operation each."))
CAN_OPERATE = allowed("containers.change_derpinstance")


class AssignView(APIView):
    """POST /api/container/assign — set up a customer's relays (pinned servers first): 202."""

    permission_classes = [CAN_PLACE]

    @extend_schema(request=AssignInput, responses=ACCEPTED)
    def post(self, request):
        data = validated(AssignInput, request)
        user = _customer(request.user, data["user_id"], needs_rental=True)
        pinned = _servers(request.user, data["server_ids"])
        operation = requests.provision(
            actor=request.user, user=user,
            servers=data.get("servers") or settings.DEFAULT_SERVERS_PER_RENTAL,
            pinned_ids=[s.pk for s in pinned], ip=client_ip(request))
        return accepted(request, operation)


class AllocateView(APIView):
    """POST /api/container/allocate — one relay for a customer on the server named: 202.
    `container_id` is the relay's id once the worker has placed it (null until then; the
    operation's instance_id carries it)."""

    permission_classes = [CAN_PLACE]

    @extend_schema(request=AllocateInput, responses={202: ALLOCATED})
    def post(self, request):
        data = validated(AllocateInput, request)
        user = _customer(request.user, data["user_id"])
        server = _servers(request.user, [data["server_id"]])[0]
        operation = requests.allocate(actor=request.user, user=user, server=server,
                                      ip=client_ip(request))
        return accepted(request, operation, container_id=operation.instance_id)


class StopView(APIView):
    """POST /api/container/stop — one relay ("container_id" or "instance_id": 202 with its
    operation) or all of a user's ("user_id": 202 with one operation per relay)."""

    permission_classes = [CAN_OPERATE]

    @extend_schema(request=StopInput, responses={202: STOPPED})
    def post(self, request):
        data = validated(StopInput, request)
        ip = client_ip(request)
        if data["relay_id"]:
            instance = _instance(request.user, data["relay_id"])
            return accepted(request, requests.relay_action(OperationKind.STOP, actor=request.user,
                                                           instance=instance, ip=ip))
        user = _customer(request.user, data["user_id"])
        operations = requests.stop_all(actor=request.user, user=user, ip=ip)
        return Response({"success": True, "operations": OperationSerializer(
            operations, many=True, context={"request": request}).data}, status=202)


class _InstanceAction(APIView):
    permission_classes = [CAN_OPERATE]
    kind = ""

    @extend_schema(request=None, responses=ACCEPTED)
    def post(self, request, pk):
        instance = _instance(request.user, pk)
        return accepted(request, requests.relay_action(self.kind, actor=request.user,
                                                       instance=instance, ip=client_ip(request)))


class StartView(_InstanceAction):
    """POST /api/container/<id>/start — start a stopped relay: 202."""

    kind = OperationKind.START


class RestartView(_InstanceAction):
    """POST /api/container/<id>/restart — stop (if running) and start a relay: 202."""

    kind = OperationKind.RESTART


class RemoveView(_InstanceAction):
    """POST /api/container/<id>/remove — take a relay down for good and free its port: 202."""

    permission_classes = [allowed("containers.delete_derpinstance")]
    kind = OperationKind.REMOVE


class MigrateView(APIView):
    """POST /api/container/<id>/migrate — move a relay (to "target_server_id" or the least
    loaded server), make-before-break: 202."""

    permission_classes = [CAN_OPERATE]

    @extend_schema(request=MigrateInput, responses=ACCEPTED)
    def post(self, request, pk):
        instance = _instance(request.user, pk)
        data = validated(MigrateInput, request)
        target = (_servers(request.user, [data["target_server_id"]])[0]
                  if data.get("target_server_id") else None)
        return accepted(request, requests.migrate(actor=request.user, instance=instance,
                                                  target=target, ip=client_ip(request)))


class InstanceListView(ListAPIView):
    """GET /api/container/list — relays, newest first (?user_id=, ?server_id=, ?status=)."""

    permission_classes = [allowed("containers.view_derpinstance")]
    serializer_class = InstanceSerializer

    @extend_schema(parameters=[ListFilter])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = validated_query(ListFilter, self.request)
        queryset = DerpInstance.objects.visible_to(self.request.user).select_related("server", "user")
        return queryset.filter(**filters)


class FailoverView(APIView):
    """POST /api/ha/failover — move the relays of every server marked unhealthy: 202."""

    permission_classes = [allowed("servers.operate_server")]

    @extend_schema(request=None, responses=ACCEPTED)
    def post(self, request):
        return accepted(request, requests.failover(actor=request.user, ip=client_ip(request)))


# --- Customers -------------------------------------------------------------------------------

def customer_relays(user) -> list[DerpInstance]:
    """A customer's relays as they see them: live ones and failed ones, by server name."""
    return list(DerpInstance.objects.visible_to(user).filter(user=user)
                .exclude(status=InstanceStatus.REMOVED).select_related("server")
                .order_by("server__name", "pk"))


class MyRelaySerializer(serializers.Serializer):
    """A relay as its customer sees it."""

    id = serializers.IntegerField(source="pk")
    server = serializers.CharField(source="server.name")
    location = serializers.CharField(source="server.location")
    hostname = serializers.CharField(source="server.hostname")
    port = serializers.IntegerField()
    status = serializers.ChoiceField(choices=InstanceStatus.choices)
    status_display = ChoiceLabelField(InstanceStatus.choices, source="status")
    message = serializers.SerializerMethodField(help_text="Why a failed relay failed, in words "
                                                          "for its customer; otherwise empty.")

    def get_message(self, instance) -> str:
        return services.user_message(instance)


class MineView(APIView):
    """GET /api/container/mine — the caller's own relays (customers only)."""

    @extend_schema(responses=envelope("MyRelays", relays=MyRelaySerializer(many=True)))
    def get(self, request):
        if request.user.role != Role.USER:
            raise NotFound(_("Not found."))
        return ok({"relays": MyRelaySerializer(customer_relays(request.user), many=True).data})
