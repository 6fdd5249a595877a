"""The seed's serial-number API: generate, list, activate, revoke."""

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.views import APIView

from apps.accounts import policy
from derpmgr.api import FormInvalid, allowed, allowed_any, ok, parse
from derpmgr.errors import NotFound, ServiceError
from derpmgr.net import client_ip

from . import codes, services
from .forms import AdminGenerateCodesForm, CodeFilterForm, GenerateCodesForm, RedeemForm, RevokeForm
from .limits import redeem_counting_wrong_codes
from .models import ActivationCode


class CodeUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()


class ActivationCodeSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="display")
    status = serializers.CharField(source="effective_status")
    duration_days = serializers.IntegerField(source="plan.duration_days")
    created_by = serializers.EmailField(source="created_by.email")
    order = serializers.CharField(source="order.number", default=None)
    user = CodeUserSerializer(allow_null=True)

    class Meta:
        model = ActivationCode
        fields = ["id", "code", "status", "duration_days", "paid", "created_at", "expires_at",
                  "used_at", "created_by", "order", "user"]


def _order_summary(order) -> dict | None:
    if order is None:
        return None
    return {"number": order.number, "status": order.status, "quantity": order.quantity,
            "list_price_fen": order.list_price_fen, "discount_fen": order.discount_fen,
            "amount_fen": order.amount_fen}


def _generated(batch, order) -> dict:
    return {"serials": ActivationCodeSerializer(batch, many=True).data, "count": len(batch),
            "order": _order_summary(order)}


class DistributorGenerateView(APIView):
    """POST /api/distributor/serial/generate — a distributor buys a batch of codes."""

    permission_classes = [allowed(policy.DISTRIBUTOR)]

    def post(self, request):
        data = parse(GenerateCodesForm, request, defaults={"pay_with_balance": True})
        batch, order = services.generate_codes(
            actor=request.user, plan=services.plan_for_duration(data["duration_days"]),
            quantity=data["quantity"], server_ids=data["server_ids"],
            pay_with_balance=data["pay_with_balance"], ip=client_ip(request))
        return ok(_generated(batch, order), status_code=201)


class AdminGenerateView(APIView):
    """POST /api/serial/generate — an admin issues codes (paid unless "paid": false)."""

    permission_classes = [allowed("distribution.add_activationcode")]

    def post(self, request):
        data = parse(AdminGenerateCodesForm, request, defaults={"paid": True})
        batch, order = services.generate_codes(
            actor=request.user, plan=services.plan_for_duration(data["duration_days"]),
            quantity=data["quantity"], server_ids=data["server_ids"], paid=data["paid"],
            valid_days=data.get("valid_days"), ip=client_ip(request))
        return ok(_generated(batch, order), status_code=201)


class CodeListView(ListAPIView):
    """GET /api/distributor/serials — the codes the caller may see, with who activated each."""

    serializer_class = ActivationCodeSerializer
    permission_classes = [allowed_any(policy.DISTRIBUTOR, "distribution.view_activationcode")]

    def get_queryset(self):
        form = CodeFilterForm(self.request.query_params)
        if not form.is_valid():
            fields = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
            raise FormInvalid(next(iter(fields.values()))[0], fields=fields)
        codes_seen = ActivationCode.objects.visible_to(self.request.user)
        return form.apply(codes_seen).select_related("plan", "created_by", "order", "user")


class RedeemView(APIView):
    """POST /api/serial/activate — a customer activates a code."""

    def post(self, request):
        code = redeem_counting_wrong_codes(request, parse(RedeemForm, request)["code"])
        request.user.refresh_from_db()
        return ok({"serial": ActivationCodeSerializer(code).data,
                   "rental_state": request.user.rental_state,
                   "rental_expiry": request.user.rental_expiry})


class RevokeView(APIView):
    """POST /api/serial/revoke — revoke unused codes ("ids" or "codes")."""

    permission_classes = [allowed_any(policy.DISTRIBUTOR, "distribution.change_activationcode")]

    def post(self, request):
        data = parse(RevokeForm, request)
        ids = list(data.get("ids") or [])
        raw_codes = data.get("codes") or []
        if not isinstance(raw_codes, list) or len(raw_codes) > settings.CODE_BATCH_MAX:
            message = _("codes must be a list of at most %(max)d codes.") % {"max": settings.CODE_BATCH_MAX}
            raise ServiceError(message, fields={"codes": [message]})
        try:
            canonical = {codes.normalise(c) for c in raw_codes}
        except codes.InvalidCode as exc:
            raise ServiceError(_("One of the codes is not valid; check it for typos."),
                               code="code_malformed", fields={"codes": [_("Check for typos.")]}) from exc
        found = list(ActivationCode.objects.visible_to(request.user).filter(code__in=canonical)
                     .values_list("pk", flat=True))
        if len(found) != len(canonical):
            raise NotFound(_("Some of these codes do not exist."), code="unknown_codes")
        revoked = services.revoke(actor=request.user, code_ids=ids + found, ip=client_ip(request))
        return ok({"revoked": revoked})
