"""The seed's serial-number API: generate, list, activate, revoke."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.views import APIView

from apps.accounts import policy
from apps.accounts.models import RentalState
from derpmgr.api import (
    allowed,
    allowed_any,
    envelope,
    filter_form,
    ok,
    paginated_as,
    query_parameters,
    validated,
)
from derpmgr.errors import NotFound, ServiceError
from derpmgr.net import client_ip

from . import codes, services
from .forms import CodeFilterForm
from .limits import redeem_counting_wrong_codes
from .models import ActivationCode
from .serializers import (
    ActivationCodeSerializer,
    AdminBatchSerializer,
    DistributorBatchSerializer,
    OrderSummarySerializer,
    RedeemSerializer,
    RevokeSerializer,
)

CODE_BATCH = envelope(
    "CodeBatch", serials=ActivationCodeSerializer(many=True), count=serializers.IntegerField(),
    serial_numbers=serializers.ListField(child=serializers.CharField(), help_text=gettext_lazy(
        "The codes as strings (the seed's name).")),
    serial_number=serializers.CharField(help_text=gettext_lazy("The first code (the seed's name).")),
    order=OrderSummarySerializer(allow_null=True, help_text=gettext_lazy(
        "The batch's order; null for codes an admin issues.")))


def _generated(batch, order) -> dict:
    shown = [code.display for code in batch]
    return {"serials": ActivationCodeSerializer(batch, many=True).data, "count": len(batch),
            "serial_numbers": shown, "serial_number": shown[0],
            "order": OrderSummarySerializer(order).data if order else None}


class DistributorGenerateView(APIView):
    """POST /api/distributor/serial/generate — a distributor buys a batch of codes."""

    permission_classes = [allowed(policy.DISTRIBUTOR)]

    @extend_schema(request=DistributorBatchSerializer, responses={201: CODE_BATCH})
    def post(self, request):
        data = validated(DistributorBatchSerializer, request)
        batch, order = services.generate_codes(
            actor=request.user, plan=services.plan_for_duration(data["duration_days"]),
            quantity=data["quantity"], server_ids=data["server_ids"],
            pay_with_balance=data["pay_with_balance"], ip=client_ip(request))
        return ok(_generated(batch, order), status_code=201)


class AdminGenerateView(APIView):
    """POST /api/serial/generate — an admin issues codes (paid unless "paid": false)."""

    permission_classes = [allowed("distribution.add_activationcode")]

    @extend_schema(request=AdminBatchSerializer, responses={201: CODE_BATCH})
    def post(self, request):
        data = validated(AdminBatchSerializer, request)
        batch, order = services.generate_codes(
            actor=request.user, plan=services.plan_for_duration(data["duration_days"]),
            quantity=data["quantity"], server_ids=data["server_ids"], paid=data["paid"],
            valid_days=data.get("valid_days"), ip=client_ip(request))
        return ok(_generated(batch, order), status_code=201)


class CodeListView(ListAPIView):
    """GET /api/distributor/serials — the codes the caller may see, with who activated each
    (as "results" and as the seed's "serial_numbers")."""

    serializer_class = ActivationCodeSerializer
    pagination_class = paginated_as("serial_numbers")
    permission_classes = [allowed_any(policy.DISTRIBUTOR, "distribution.view_activationcode")]

    def get_queryset(self):
        filters = filter_form(CodeFilterForm, self.request)
        codes_seen = ActivationCode.objects.visible_to(self.request.user)
        return filters.apply(codes_seen).select_related("plan", "created_by", "order", "user")

    @extend_schema(parameters=query_parameters(CodeFilterForm))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RedeemView(APIView):
    """POST /api/serial/activate — a customer activates a code."""

    @extend_schema(request=RedeemSerializer, responses={200: envelope(
        "CodeActivated", serial=ActivationCodeSerializer(),
        rental_state=serializers.ChoiceField(choices=RentalState.choices),
        rental_expiry=serializers.DateTimeField(allow_null=True))})
    def post(self, request):
        code = redeem_counting_wrong_codes(request, validated(RedeemSerializer, request)["code"])
        request.user.refresh_from_db()
        return ok({"serial": ActivationCodeSerializer(code).data,
                   "rental_state": request.user.rental_state,
                   "rental_expiry": request.user.rental_expiry})


class RevokeView(APIView):
    """POST /api/serial/revoke — revoke unused codes ("ids" or "codes")."""

    permission_classes = [allowed_any(policy.DISTRIBUTOR, "distribution.change_activationcode")]

    @extend_schema(request=RevokeSerializer, responses={200: envelope(
        "CodesRevoked", revoked=serializers.IntegerField(help_text=gettext_lazy(
            "How many codes were revoked (used ones stay used).")))})
    def post(self, request):
        data = validated(RevokeSerializer, request)
        try:
            canonical = {codes.normalise(c) for c in data["codes"]}
        except codes.InvalidCode as exc:
            raise ServiceError(_("One of the codes is not valid; check it for typos."),
                               code="code_malformed", fields={"codes": [_("Check for typos.")]}) from exc
        found = list(ActivationCode.objects.visible_to(request.user).filter(code__in=canonical)
                     .values_list("pk", flat=True))
        if len(found) != len(canonical):
            raise NotFound(_("Some of these codes do not exist."), code="unknown_codes")
        revoked = services.revoke(actor=request.user, code_ids=data["ids"] + found,
                                  ip=client_ip(request))
        return ok({"revoked": revoked})
