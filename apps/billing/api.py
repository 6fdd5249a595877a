"""Orders, balances, purchases and finance over the API."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.views import APIView

from apps.accounts.models import Role, User
from apps.distribution import services as distribution
from derpmgr.api import allowed, envelope, ok, validated
from derpmgr.errors import NotFound
from derpmgr.net import client_ip

from . import services, statistics
from .models import LedgerEntry, Order, Plan, SettlementMethod
from .serializers import (
    FinanceFiguresSerializer,
    LedgerEntrySerializer,
    MarkOrderSerializer,
    OrderSerializer,
    PlanSerializer,
    PurchaseSerializer,
    SettleSerializer,
    TopUpSerializer,
)


def _fen():
    return serializers.IntegerField(help_text=gettext_lazy("Money in fen (1/100 yuan)."))


class PlanListView(APIView):
    """GET /api/billing/plans — the plans on sale (all of them: there are a handful)."""

    @extend_schema(responses={200: envelope("PlanList", plans=PlanSerializer(many=True))})
    def get(self, request):
        return ok({"plans": PlanSerializer(Plan.objects.filter(active=True), many=True).data})


class OrderListView(ListAPIView):
    serializer_class = OrderSerializer

    def get_queryset(self):
        return Order.objects.visible_to(self.request.user).select_related("buyer", "plan", "coupon")


class MarkOrderView(APIView):
    """POST /api/orders/<number>/mark — completed / renewed / cancelled (admins), refunded."""

    permission_classes = [allowed("billing.change_order")]

    @extend_schema(request=MarkOrderSerializer,
                   responses={200: envelope("OrderMarked", order=OrderSerializer())})
    def post(self, request, number):
        order = Order.objects.visible_to(request.user).filter(number=number).first()
        if order is None:
            raise NotFound(_("No such order."))
        data = validated(MarkOrderSerializer, request)
        order = services.mark_order(actor=request.user, order=order, status=data["status"],
                                    reference=data["reference"], ip=client_ip(request))
        return ok({"order": OrderSerializer(order).data})


class BalanceView(APIView):
    @extend_schema(responses={200: envelope(
        "Balance", balance_fen=_fen(), entries=LedgerEntrySerializer(
            many=True, help_text=gettext_lazy("The latest 50 ledger entries, newest first.")))})
    def get(self, request):
        entries = LedgerEntry.objects.visible_to(request.user).filter(wallet__owner=request.user)
        return ok({"balance_fen": services.balance_of(request.user),
                   "entries": LedgerEntrySerializer(entries.select_related("order")[:50],
                                                    many=True).data})


class PurchaseView(APIView):
    """POST /api/billing/purchase — buy or renew a plan from the balance, with a coupon."""

    @extend_schema(request=PurchaseSerializer, responses={201: envelope(
        "Purchase", order=OrderSerializer(), balance_fen=_fen(),
        rental_expiry=serializers.DateTimeField(allow_null=True))})
    def post(self, request):
        data = validated(PurchaseSerializer, request)
        plan = data.get("plan") or distribution.plan_for_duration(data["duration_days"])
        order = services.purchase_plan(user=request.user, plan=plan, coupon_code=data["coupon"],
                                       ip=client_ip(request))
        request.user.refresh_from_db()
        return ok({"order": OrderSerializer(order).data,
                   "balance_fen": services.balance_of(request.user),
                   "rental_expiry": request.user.rental_expiry}, status_code=201)


class TopUpView(APIView):
    permission_classes = [allowed("billing.top_up_wallet")]

    @extend_schema(request=TopUpSerializer, responses={201: envelope(
        "TopUp", order=OrderSerializer(), balance_fen=_fen())})
    def post(self, request):
        data = validated(TopUpSerializer, request)
        user = User.objects.visible_to(request.user).filter(pk=data["user_id"]).first()
        if user is None:
            raise NotFound(_("No such user."))
        order = services.top_up(actor=request.user, user=user, amount_fen=data["amount_fen"],
                                reference=data["reference"], ip=client_ip(request))
        return ok({"order": OrderSerializer(order).data,
                   "balance_fen": services.balance_of(user)}, status_code=201)


class SettleCommissionView(APIView):
    permission_classes = [allowed("billing.add_commissionsettlement")]

    @extend_schema(request=SettleSerializer, responses={200: envelope(
        "CommissionSettled", amount_fen=_fen(),
        method=serializers.ChoiceField(choices=SettlementMethod.choices),
        reference=serializers.CharField(), balance_fen=_fen())})
    def post(self, request):
        data = validated(SettleSerializer, request)
        distributor = (User.objects.visible_to(request.user)
                       .filter(pk=data["distributor_id"], role=Role.DISTRIBUTOR).first())
        if distributor is None:
            raise NotFound(_("No such distributor."))
        settlement = services.settle_commission(actor=request.user, distributor=distributor,
                                                method=data["method"], reference=data["reference"],
                                                ip=client_ip(request))
        return ok({"amount_fen": settlement.amount_fen, "method": settlement.method,
                   "reference": settlement.reference,
                   "balance_fen": services.balance_of(distributor)})


class FinanceStatisticsView(APIView):
    """GET /api/finance/statistics — whoever holds billing.view_finance (super admins)."""

    permission_classes = [allowed("billing.view_finance")]

    @extend_schema(responses={200: envelope(
        "FinanceStatistics", statistics=FinanceFiguresSerializer(),
        total_revenue=serializers.IntegerField(
            help_text=gettext_lazy("All-time revenue in fen (the seed's name for revenue_all_time_fen).")))})
    def get(self, request):
        figures = statistics.finance_statistics()
        return ok({"statistics": figures, "total_revenue": figures["revenue_all_time_fen"]})
