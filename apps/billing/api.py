"""Orders, balances, purchases and finance over the API."""

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.views import APIView

from apps.accounts.models import Role, User
from apps.distribution import services as distribution
from derpmgr.api import allowed, ok, parse
from derpmgr.errors import NotFound
from derpmgr.net import client_ip

from . import services, statistics
from .forms import MarkOrderForm, PurchaseForm, SettleForm, TopUpForm
from .models import LedgerEntry, Order, Plan


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["id", "name", "duration_days", "price_fen", "servers_per_rental", "max_devices"]


class OrderSerializer(serializers.ModelSerializer):
    buyer = serializers.EmailField(source="buyer.email")
    plan = serializers.IntegerField(source="plan.duration_days", default=None)
    coupon = serializers.CharField(source="coupon.code", default=None)

    class Meta:
        model = Order
        fields = ["number", "buyer", "kind", "status", "plan", "quantity", "list_price_fen",
                  "discount_fen", "coupon", "coupon_discount_fen", "amount_fen",
                  "paid_from_balance", "payment_reference", "created_at", "completed_at"]


class LedgerEntrySerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number", default=None)

    class Meta:
        model = LedgerEntry
        fields = ["kind", "amount_fen", "balance_after_fen", "order", "reference", "created_at"]


class PlanListView(ListAPIView):
    serializer_class = PlanSerializer
    pagination_class = None

    def get_queryset(self):
        return Plan.objects.filter(active=True)

    def list(self, request, *args, **kwargs):
        return ok({"plans": self.get_serializer(self.get_queryset(), many=True).data})


class OrderListView(ListAPIView):
    serializer_class = OrderSerializer

    def get_queryset(self):
        return Order.objects.visible_to(self.request.user).select_related("buyer", "plan", "coupon")


class MarkOrderView(APIView):
    """POST /api/orders/<number>/mark — completed / renewed / cancelled (admins), refunded."""

    permission_classes = [allowed("billing.change_order")]

    def post(self, request, number):
        order = Order.objects.visible_to(request.user).filter(number=number).first()
        if order is None:
            raise NotFound(_("No such order."))
        data = parse(MarkOrderForm, request)
        order = services.mark_order(actor=request.user, order=order, status=data["status"],
                                    reference=data["reference"], ip=client_ip(request))
        return ok({"order": OrderSerializer(order).data})


class BalanceView(APIView):
    def get(self, request):
        entries = LedgerEntry.objects.visible_to(request.user).filter(wallet__owner=request.user)
        return ok({"balance_fen": services.balance_of(request.user),
                   "entries": LedgerEntrySerializer(entries.select_related("order")[:50],
                                                    many=True).data})


class PurchaseView(APIView):
    """POST /api/billing/purchase — buy or renew a plan from the balance, with a coupon."""

    def post(self, request):
        data = parse(PurchaseForm, request)
        plan = data.get("plan") or distribution.plan_for_duration(data["duration_days"])
        order = services.purchase_plan(user=request.user, plan=plan, coupon_code=data["coupon"],
                                       ip=client_ip(request))
        request.user.refresh_from_db()
        return ok({"order": OrderSerializer(order).data,
                   "balance_fen": services.balance_of(request.user),
                   "rental_expiry": request.user.rental_expiry}, status_code=201)


class TopUpView(APIView):
    permission_classes = [allowed("billing.top_up_wallet")]

    def post(self, request):
        data = parse(TopUpForm, request)
        user = User.objects.visible_to(request.user).filter(pk=data["user_id"]).first()
        if user is None:
            raise NotFound(_("No such user."))
        order = services.top_up(actor=request.user, user=user, amount_fen=data["amount_fen"],
                                reference=data["reference"], ip=client_ip(request))
        return ok({"order": OrderSerializer(order).data,
                   "balance_fen": services.balance_of(user)}, status_code=201)


class SettleCommissionView(APIView):
    permission_classes = [allowed("billing.add_commissionsettlement")]

    def post(self, request):
        data = parse(SettleForm, request)
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

    def get(self, request):
        return ok({"statistics": statistics.finance_statistics()})
