"""The relay API: operators assign, allocate, stop, start, restart, remove and move relays and
trigger failover; a customer reads their own relays. Each view parses, checks, calls a service.
Admission tokens never leave the server."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.views import APIView

from apps.accounts.models import RentalState, Role, User
from apps.servers.models import Server
from derpmgr.api import FormInvalid, IsStaffRole, ok, parse
from derpmgr.errors import NotFound, ServiceError
from derpmgr.fields import IntegerListField, StrictIntegerField
from derpmgr.net import client_ip

from . import services, tasks
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

class AssignView(APIView):
    """POST /api/container/assign — provision a customer's relays now (pinned servers first)."""

    permission_classes = [IsStaffRole]

    def post(self, request):
        data = parse(AssignForm, request)
        user = _customer(request.user, data["user_id"], needs_rental=True)
        pinned = _servers(request.user, data["server_ids"])
        report = services.provision_rental(
            user_id=user.pk, servers=data.get("servers") or settings.DEFAULT_SERVERS_PER_RENTAL,
            pinned_ids=[s.pk for s in pinned], actor=request.user, ip=client_ip(request))
        for instance_id in report.failed:  # transient failures: retried like the activation's
            tasks.start_instance.apply_async((instance_id,), countdown=5)
        live = DerpInstance.objects.filter(user=user).exclude(status=InstanceStatus.REMOVED)
        return ok({"report": {"created": report.created, "restarted": report.restarted,
                              "retrying": report.failed, "failed": report.rolled_back,
                              "missing": report.missing},
                   "instances": _instances(live)})


class AllocateView(APIView):
    """POST /api/container/allocate — one relay for a customer on the server named."""

    permission_classes = [IsStaffRole]

    def post(self, request):
        data = parse(AllocateForm, request)
        user = _customer(request.user, data["user_id"])
        server = _servers(request.user, [data["server_id"]])[0]
        instance = services.allocate_instance(actor=request.user, user=user, server=server,
                                              ip=client_ip(request))
        if instance.status != InstanceStatus.RUNNING:
            raise ServiceError(_("The relay could not be started on %(server)s: %(why)s")
                               % {"server": server.name, "why": instance.last_error},
                               code="start_failed", status=502)
        return ok({"instance": _one(instance)}, status_code=201)


class StopView(APIView):
    """POST /api/container/stop — one relay ("instance_id") or all of a user's ("user_id")."""

    permission_classes = [IsStaffRole]

    def post(self, request):
        data = parse(StopForm, request)
        ip = client_ip(request)
        if data.get("instance_id"):
            instance = _instance(request.user, str(data["instance_id"]))
            return ok({"instance": _one(services.stop_instance(actor=request.user, instance=instance,
                                                                ip=ip))})
        user = _customer(request.user, data["user_id"])
        stopped, failed = [], {}
        running = DerpInstance.objects.filter(user=user, status=InstanceStatus.RUNNING)
        for instance in running.select_related("server", "user"):
            try:
                stopped.append(services.stop_instance(actor=request.user, instance=instance, ip=ip))
            except ServiceError as error:
                failed[str(instance.pk)] = str(error.message)
        return ok({"instances": [_one(i) for i in stopped], "failed": failed})


class _InstanceAction(APIView):
    permission_classes = [IsStaffRole]

    def act(self, request, instance):  # pragma: no cover - each subclass says what it does
        raise NotImplementedError

    def post(self, request, pk):
        instance = _instance(request.user, pk)
        return ok({"instance": _one(self.act(request, instance))})


class StartView(_InstanceAction):
    """POST /api/container/<id>/start — start a stopped relay."""

    def act(self, request, instance):
        return services.start_stopped_instance(actor=request.user, instance=instance,
                                               ip=client_ip(request))


class RestartView(_InstanceAction):
    """POST /api/container/<id>/restart — stop (if running) and start a relay."""

    def act(self, request, instance):
        return services.restart_instance(actor=request.user, instance=instance, ip=client_ip(request))


class RemoveView(_InstanceAction):
    """POST /api/container/<id>/remove — take a relay down for good and free its port."""

    def act(self, request, instance):
        return services.remove_instance(actor=request.user, instance=instance, ip=client_ip(request))


class MigrateView(_InstanceAction):
    """POST /api/container/<id>/migrate — move a relay (to "target_server_id" or the least
    loaded server), make-before-break."""

    def act(self, request, instance):
        data = parse(MigrateForm, request)
        target = (_servers(request.user, [data["target_server_id"]])[0]
                  if data.get("target_server_id") else None)
        return services.migrate_instance(actor=request.user, instance=instance, target=target,
                                         ip=client_ip(request))


class InstanceListView(ListAPIView):
    """GET /api/container/list — relays, newest first (?user_id=, ?server_id=, ?status=)."""

    permission_classes = [IsStaffRole]
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
    """POST /api/ha/failover — move the relays of every server marked unhealthy."""

    permission_classes = [IsStaffRole]

    def post(self, request):
        reports = services.failover(actor=request.user, ip=client_ip(request))
        return ok({"servers": [{"server": server_id, "moved": report.moved,
                                "failed": [{"instance": pk, "message": message}
                                           for pk, message in report.failed.items()]}
                               for server_id, report in reports.items()]})


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
