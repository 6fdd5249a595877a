"""The activation-code API's bodies: what it accepts (strict) and what it answers."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.billing.models import Order
from derpmgr.api_fields import ID_MAX, StrictBooleanField, StrictCharField, StrictIntegerField

from .models import ActivationCode, CodeStatus
from .validators import (
    CODE_MAX_LENGTH,
    PINNED_SERVERS_MAX,
    REVOKE_IDS_MAX,
    VALID_DAYS_MAX,
    require_revoke_selection,
)


def _ids(max_items: int, **kwargs):
    return serializers.ListField(child=StrictIntegerField(min_value=1, max_value=ID_MAX),
                                 max_length=max_items, required=False, default=list, **kwargs)


# --- Input ------------------------------------------------------------------------------------

class CodeBatchSerializer(serializers.Serializer):
    duration_days = StrictIntegerField(min_value=1, help_text=_("The plan, by how many days it lasts."))
    quantity = StrictIntegerField(min_value=1, max_value=settings.CODE_BATCH_MAX, default=1)
    server_ids = _ids(PINNED_SERVERS_MAX, help_text=_("Servers the codes' relays are pinned to "
                                                      "(operators only)."))


class DistributorBatchSerializer(CodeBatchSerializer):
    pay_with_balance = StrictBooleanField(default=True, help_text=_(
        "Pay from the balance now; false leaves a pending order with unpaid codes."))


class AdminBatchSerializer(CodeBatchSerializer):
    paid = StrictBooleanField(default=True, help_text=_("false for codes handed out on credit."))
    valid_days = StrictIntegerField(min_value=1, max_value=VALID_DAYS_MAX, required=False,
                                    allow_null=True, help_text=_("Days the codes stay valid."))


class RedeemSerializer(serializers.Serializer):
    code = StrictCharField(max_length=CODE_MAX_LENGTH)


class RevokeSerializer(serializers.Serializer):
    ids = _ids(REVOKE_IDS_MAX)
    codes = serializers.ListField(child=StrictCharField(max_length=CODE_MAX_LENGTH),
                                  max_length=settings.CODE_BATCH_MAX, required=False, default=list)

    def validate(self, attrs):
        require_revoke_selection(attrs)
        return attrs


# --- Output -----------------------------------------------------------------------------------

class CodeUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()


class ActivationCodeSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="display")
    status = serializers.ChoiceField(choices=CodeStatus.choices, source="effective_status")
    duration_days = serializers.IntegerField(source="plan.duration_days")
    created_by = serializers.EmailField(source="created_by.email")
    order = serializers.CharField(source="order.number", default=None, allow_null=True)
    user = CodeUserSerializer(allow_null=True)

    class Meta:
        model = ActivationCode
        fields = ["id", "code", "status", "duration_days", "paid", "created_at", "expires_at",
                  "used_at", "created_by", "order", "user"]
        read_only_fields = fields


class OrderSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = ["number", "status", "quantity", "list_price_fen", "discount_fen", "amount_fen"]
        read_only_fields = fields
