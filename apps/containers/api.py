"""The relay API: operators assign, allocate, stop, start, restart, remove and move relays and
trigger failover; a customer reads their own relays. Each view parses, checks, calls a service.
Admission tokens never leave the server."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import RentalState, Role, User
from apps.operations.api import ACCEPTED, OperationSerializer, accepted
from apps.operations.models import OperationKind
from apps.servers.models import Server
from derpmgr.api import FormInvalid, allowed, ok, parse
from derpmgr.errors import NotFound, ServiceError
from derpmgr.fields import IntegerListField, StrictIntegerField
from derpmgr.net import client_ip

from . import requests, services
from .models import DerpInstance, InstanceStatus

MAX_ID = 2**63 - 1  # a primary key is a signed 64-bit integer
MAX_SERVERS_PER_USER = 20


# --- Input -----------------------------------------------------------------------------------

def _id_field(**kwargs):
    return StrictIntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class AssignForm(forms.Form):
    user_id = _id_field()
    servers = StrictIntegerField(required=False, min_value=1, max_value=MAX_SERVERS_PER_USER)
    server_ids = IntegerListField(max_items=MAX_SERVERS_PER_USER)

    def clean(self):
        data = super().clean()
        wanted = data.get("servers") or settings.DEFAULT_SERVERS_PER_RENTAL
        if len(set(data.get("server_ids") or [])) > wanted:
            raise forms.ValidationError(gettext_lazy("server_ids names more servers than servers."))
        return data


class AllocateForm(forms.Form):
    user_id = _id_field()
    server_id = _id_field()


class StopForm(forms.Form):
    instance_id = _id_field(required=False)
    user_id = _id_field(required=False)

    def clean(self):
        data = super().clean()
        if not self.errors and bool(data.get("instance_id")) == bool(data.get("user_id")):
            raise forms.ValidationError(gettext_lazy("Name either instance_id or user_id."))
        return data


class MigrateForm(forms.Form):
    target_server_id = _id_field(required=False)


class ListFilterForm(forms.Form):
    user_id = _id_field(required=False)
    server_id = _id_field(required=False)
    status = forms.ChoiceField(required=False, choices=[("", ""), *InstanceStatus.choices])


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


def _instance(actor, pk: str) -> DerpInstance:
    """The relay named in the path; a malformed or unknown id is the same 404."""
    number = int(pk) if pk.isascii() and pk.isdigit() and len(pk) <= 19 else 0
    instance = (DerpInstance.objects.visible_to(actor).select_related("server", "user")
                .filter(pk=number).first() if 0 < number <= MAX_ID else None)
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
CAN_OPERATE = allowed("containers.change_derpinstance")


class AssignView(APIView):
    """POST /api/container/assign — set up a customer's relays (pinned servers first): 202."""

    permission_classes = [CAN_PLACE]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=ACCEPTED)
    def post(self, request):
        data = parse(AssignForm, request)
        user = _customer(request.user, data["user_id"], needs_rental=True)
        pinned = _servers(request.user, data["server_ids"])
        operation = requests.provision(
            actor=request.user, user=user,
            servers=data.get("servers") or settings.DEFAULT_SERVERS_PER_RENTAL,
            pinned_ids=[s.pk for s in pinned], ip=client_ip(request))
        return accepted(request, operation)


class AllocateView(APIView):
    """POST /api/container/allocate — one relay for a customer on the server named: 202."""

    permission_classes = [CAN_PLACE]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=ACCEPTED)
    def post(self, request):
        data = parse(AllocateForm, request)
        user = _customer(request.user, data["user_id"])
        server = _servers(request.user, [data["server_id"]])[0]
        return accepted(request, requests.allocate(actor=request.user, user=user, server=server,
                                                   ip=client_ip(request)))


class StopView(APIView):
    """POST /api/container/stop — one relay ("instance_id") or all of a user's ("user_id"): 202."""

    permission_classes = [CAN_OPERATE]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={202: OpenApiTypes.OBJECT})
    def post(self, request):
        data = parse(StopForm, request)
        ip = client_ip(request)
        if data.get("instance_id"):
            instance = _instance(request.user, str(data["instance_id"]))
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

    @extend_schema(request=OpenApiTypes.OBJECT, responses=ACCEPTED)
    def post(self, request, pk):
        instance = _instance(request.user, pk)
        data = parse(MigrateForm, request)
        target = (_servers(request.user, [data["target_server_id"]])[0]
                  if data.get("target_server_id") else None)
        return accepted(request, requests.migrate(actor=request.user, instance=instance,
                                                  target=target, ip=client_ip(request)))


class InstanceListView(ListAPIView):
    """GET /api/container/list — relays, newest first (?user_id=, ?server_id=, ?status=)."""

    permission_classes = [allowed("containers.view_derpinstance")]
    serializer_class = InstanceSerializer

    def get_queryset(self):
        form = ListFilterForm(self.request.query_params)
        if not form.is_valid():
            fields = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
            raise FormInvalid(next(iter(fields.values()))[0], fields=fields)
        queryset = DerpInstance.objects.visible_to(self.request.user).select_related("server", "user")
        filters = {key: value for key, value in form.cleaned_data.items() if value}
        return queryset.filter(**filters)


class FailoverView(APIView):
    """POST /api/ha/failover — move the relays of every server marked unhealthy: 202."""

    permission_classes = [allowed("servers.operate_server")]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=ACCEPTED)
    def post(self, request):
        return accepted(request, requests.failover(actor=request.user, ip=client_ip(request)))


# --- Customers -------------------------------------------------------------------------------

def customer_relays(user) -> list[DerpInstance]:
    """A customer's relays as they see them: live ones and failed ones, by server name."""
    return list(DerpInstance.objects.visible_to(user).filter(user=user)
                .exclude(status=InstanceStatus.REMOVED).select_related("server")
                .order_by("server__name", "pk"))


class MineView(APIView):
    """GET /api/container/mine — the caller's own relays (customers only)."""

    def get(self, request):
        if request.user.role != Role.USER:
            raise NotFound(_("Not found."))
        return ok({"relays": [{"id": i.pk, "server": i.server.name, "location": i.server.location,
                               "hostname": i.server.hostname, "port": i.port, "status": i.status,
                               "status_display": i.get_status_display(),
                               "message": services.user_message(i)}
                              for i in customer_relays(request.user)]})
