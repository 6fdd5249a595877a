"""POST /api/monitoring/alerts/<id>/expected — ops mark a customer's abnormal usage expected."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from apps.monitoring.api import AlertSerializer, visible_alert
from derpmgr.api import allowed, envelope, ok, validated
from derpmgr.api_fields import StrictIntegerField
from derpmgr.net import client_ip

from . import usage


class ExpectedSerializer(serializers.Serializer):
    days = StrictIntegerField(
        required=False, allow_null=True, default=None, min_value=1,
        max_value=usage.MAX_EXPECTED_DAYS,
        help_text="How many days, counting today, the usage is expected. Left out: today.")


EXPECTED = envelope("UsageExpectedEnvelope", alert=AlertSerializer(),
                    expected_until=serializers.DateTimeField())


class ExpectedView(APIView):
    """POST /api/monitoring/alerts/<id>/expected {"days": n} — the customer's usage is expected
    (until the end of today, or of n days): the abnormal-usage alert resolves and no new one
    opens until then."""

    permission_classes = [allowed("monitoring.acknowledge_alert")]

    @extend_schema(request=ExpectedSerializer, responses=EXPECTED)
    def post(self, request, pk):
        alert = visible_alert(request.user, pk)
        days = validated(ExpectedSerializer, request)["days"]
        baseline = usage.mark_expected(actor=request.user, user=usage.customer_of(alert),
                                       days=days, ip=client_ip(request))
        alert.refresh_from_db()
        return ok({"alert": AlertSerializer(alert).data,
                   "expected_until": baseline.expected_until.isoformat()})
