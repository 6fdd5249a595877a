"""The billing API's bodies: what it accepts (strict) and what it answers."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from derpmgr.api_fields import ID_MAX, StrictCharField, StrictChoiceField, StrictIntegerField

from . import services
from .models import LedgerEntry, Order, OrderStatus, Plan, SettlementMethod
from .validators import COUPON_MAX_LENGTH, REFERENCE_MAX_LENGTH, require_plan_choice


def _reference(**kwargs):
    return StrictCharField(max_length=REFERENCE_MAX_LENGTH, **kwargs)


def _optional_reference():
    return _reference(required=False, allow_blank=True, default="")


def _id(**kwargs):
    return StrictIntegerField(min_value=1, max_value=ID_MAX, **kwargs)


# --- Input ------------------------------------------------------------------------------------

class PurchaseSerializer(serializers.Serializer):
    plan = _id(required=False, allow_null=True,
               help_text=_("The plan's id (GET /api/billing/plans); or give duration_days."))
    duration_days = StrictIntegerField(required=False, allow_null=True, min_value=1,
                                       help_text=_("The plan, by how many days it lasts."))
    coupon = StrictCharField(required=False, allow_blank=True, default="",
                             max_length=COUPON_MAX_LENGTH)

    def validate_plan(self, value):
        if value is None:
            return None
        plan = Plan.objects.filter(active=True, pk=value).first()
        if plan is None:
            raise serializers.ValidationError(_("No such plan on sale."))
        return plan

    def validate(self, attrs):
        require_plan_choice(attrs)
        return attrs


class TopUpSerializer(serializers.Serializer):
    user_id = _id()
    amount_fen = StrictIntegerField(min_value=1, max_value=services.MAX_TOP_UP_FEN)
    reference = _reference(help_text=_("The payment's reference (transfer number, receipt)."))


class MarkOrderSerializer(serializers.Serializer):
    status = StrictChoiceField(choices=OrderStatus.choices)
    reference = _optional_reference()


class SettleSerializer(serializers.Serializer):
    distributor_id = _id()
    method = StrictChoiceField(choices=SettlementMethod.choices)
    reference = _optional_reference()


# --- Output -----------------------------------------------------------------------------------

class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["id", "name", "duration_days", "price_fen", "servers_per_rental", "max_devices"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    buyer = serializers.EmailField(source="buyer.email")
    plan = serializers.IntegerField(source="plan.duration_days", default=None, allow_null=True,
                                    help_text=_("The plan's duration in days."))
    coupon = serializers.CharField(source="coupon.code", default=None, allow_null=True)

    class Meta:
        model = Order
        fields = ["number", "buyer", "kind", "status", "plan", "quantity", "list_price_fen",
                  "discount_fen", "coupon", "coupon_discount_fen", "amount_fen",
                  "paid_from_balance", "payment_reference", "created_at", "completed_at"]
        read_only_fields = fields


class LedgerEntrySerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number", default=None, allow_null=True)

    class Meta:
        model = LedgerEntry
        fields = ["kind", "amount_fen", "balance_after_fen", "order", "reference", "created_at"]
        read_only_fields = fields


def _figures(class_name: str, /, *whole_numbers: str, **others) -> type[serializers.Serializer]:
    """An answer-only serializer of whole numbers (counts and fen) and `others`."""
    fields = {field: serializers.IntegerField() for field in whole_numbers}
    return type(class_name, (serializers.Serializer,), {**fields, **others})


PlanFiguresSerializer = _figures(
    "PlanFiguresSerializer", "plan_id", "duration_days", "purchases", "renewals", "codes_sold",
    name=serializers.CharField())
DistributorFiguresSerializer = _figures(
    "DistributorFiguresSerializer", "distributor_id", "revenue_fen", "codes_bought",
    "commission_accrued_fen", "commission_settled_fen", email=serializers.EmailField())
MonthFiguresSerializer = _figures(
    "MonthFiguresSerializer", "revenue_fen",
    month=serializers.CharField(help_text=_("YYYY-MM in the business's time zone.")))
# billing.statistics.finance_statistics, money in fen.
FinanceFiguresSerializer = _figures(
    "FinanceFiguresSerializer", "revenue_this_month_fen", "revenue_all_time_fen",
    "prepaid_balances_fen", "commission_accrued_fen", "commission_settled_fen",
    plans=PlanFiguresSerializer(many=True), distributors=DistributorFiguresSerializer(many=True),
    monthly=MonthFiguresSerializer(many=True))
