"""Operations over the API: what a 202 pointed at, the recent ones, and cancelling."""

from django import forms
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.policy import can
from derpmgr.api import allowed, envelope, filter_form, ok
from derpmgr.api_fields import ChoiceLabelField
from derpmgr.errors import NotFound
from derpmgr.fields import StrictIntegerField
from derpmgr.net import client_ip

from . import services
from .models import Operation, OperationKind, OperationState

MAX_ID = 2**63 - 1


class OperationSerializer(serializers.ModelSerializer):
    """An operation as its requester sees it; customers never see the operators' error text."""

    kind_display = ChoiceLabelField(OperationKind.choices, source="kind")
    state_display = ChoiceLabelField(OperationState.choices, source="state")
    requested_by = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Operation
        fields = ["id", "kind", "kind_display", "state", "state_display", "progress",
                  "progress_message", "result", "error", "error_code", "attempts", "max_attempts",
                  "server_id", "instance_id", "customer_id", "target_label", "requested_by",
                  "cancel_requested", "created_at", "started_at", "finished_at", "url"]

    def _staff(self) -> bool:
        request = self.context.get("request")
        return bool(request and can(request.user, "operations.view_operation"))

    def get_requested_by(self, operation) -> str | None:
        if not self._staff():
            return None
        return operation.requested_by.email if operation.requested_by_id else None

    def get_error(self, operation) -> str:
        if not operation.error or self._staff():
            return operation.error
        return _("This did not work. The operators have been told.")

    def get_url(self, operation) -> str:
        return reverse("operations:api-detail", args=[operation.pk])


class AcceptedSerializer(serializers.Serializer):
    """The 202 answer to a request for remote work: the operation to follow."""

    success = serializers.BooleanField(default=True)
    operation = OperationSerializer()


OPERATION = envelope("OperationEnvelope", operation=OperationSerializer())

# The schema of a view that answers 202 with an operation (body: the fields the view reads).
ACCEPTED = {202: AcceptedSerializer}


def accepted(request, operation: Operation, **extra) -> Response:
    """202: the work is recorded and will run; poll the operation's URL for its progress."""
    data = OperationSerializer(operation, context={"request": request}).data
    return Response({"success": True, "operation": data, **extra}, status=202,
                    headers={"Location": data["url"]})


def visible_operation(user, pk) -> Operation:
    number = int(pk) if str(pk).isascii() and str(pk).isdigit() and len(str(pk)) <= 19 else 0
    operation = (Operation.objects.visible_to(user).select_related("requested_by")
                 .filter(pk=number).first() if 0 < number <= MAX_ID else None)
    if operation is None:
        raise NotFound(_("No such operation."))
    return operation


class OperationFilterForm(forms.Form):
    server_id = StrictIntegerField(required=False, min_value=1, max_value=MAX_ID)
    instance_id = StrictIntegerField(required=False, min_value=1, max_value=MAX_ID)
    customer_id = StrictIntegerField(required=False, min_value=1, max_value=MAX_ID)
    state = forms.ChoiceField(required=False, choices=[("", ""), *OperationState.choices])
    kind = forms.ChoiceField(required=False, choices=[("", ""), *OperationKind.choices])


class OperationDetailView(APIView):
    """GET /api/operations/<id> — one operation: state, progress, result or error."""

    @extend_schema(responses=OPERATION)
    def get(self, request, pk):
        operation = visible_operation(request.user, pk)
        return ok({"operation": OperationSerializer(operation, context={"request": request}).data})


class OperationListView(ListAPIView):
    """GET /api/operations — recent operations the caller may see, newest first
    (?server_id=, ?instance_id=, ?customer_id=, ?state=, ?kind=)."""

    serializer_class = OperationSerializer

    @extend_schema(parameters=[
        *(OpenApiParameter(name, int, required=False) for name in
          ("server_id", "instance_id", "customer_id")),
        OpenApiParameter("state", str, required=False, enum=OperationState.values),
        OpenApiParameter("kind", str, required=False, enum=OperationKind.values)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        form = filter_form(OperationFilterForm, self.request)
        filters = {key: value for key, value in form.cleaned_data.items() if value}
        return (Operation.objects.visible_to(self.request.user).select_related("requested_by")
                .filter(**filters))


class CancelView(APIView):
    """POST /api/operations/<id>/cancel — cancel queued work, or stop running work that can
    stop safely (drain, failover, reconcile, checks) at its next safe point."""

    permission_classes = [allowed("operations.cancel_operation")]

    @extend_schema(request=None, responses=OPERATION)
    def post(self, request, pk):
        operation = visible_operation(request.user, pk)
        operation = services.cancel(actor=request.user, operation=operation, ip=client_ip(request))
        return ok({"operation": OperationSerializer(operation, context={"request": request}).data})
