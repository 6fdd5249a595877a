"""Finance figures for super admins. Months are the business's (TIME_ZONE), money in fen."""

from datetime import datetime

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from apps.accounts.models import Role, User

from .models import Commission, CommissionStatus, Order, OrderKind, Plan, Wallet
from .periods import month_start as _month_start
from .periods import months_back as _months_back


def _sum(queryset, field: str = "amount_fen") -> int:
    return queryset.aggregate(total=Coalesce(Sum(field), 0))["total"]


def finance_statistics(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    this_month = _month_start(now)
    earned = Order.objects.earned()
    months = _months_back(this_month, 12)
    by_month = {
        timezone.localtime(row["month"]).strftime("%Y-%m"): row["total"]
        for row in earned.filter(completed_at__gte=months[0])
        .annotate(month=TruncMonth("completed_at", tzinfo=timezone.get_current_timezone()))
        .values("month").annotate(total=Sum("amount_fen"))
    }
    plans = Plan.objects.annotate(
        purchases=Count("orders", filter=Q(orders__kind=OrderKind.PURCHASE,
                                           orders__in=earned)),
        renewals=Count("orders", filter=Q(orders__kind=OrderKind.RENEWAL, orders__in=earned)),
        codes_sold=Coalesce(Sum("orders__quantity", filter=Q(orders__kind=OrderKind.CODE_BATCH,
                                                             orders__in=earned)), 0),
    ).order_by("duration_days")
    batches = Q(orders__in=earned, orders__kind=OrderKind.CODE_BATCH)
    distributors = User.objects.filter(role=Role.DISTRIBUTOR).order_by("email").annotate(
        revenue=Coalesce(Sum("orders__amount_fen", filter=batches), 0),
        codes_bought=Coalesce(Sum("orders__quantity", filter=batches), 0))
    # Separate aggregates: summing commissions in the same query as orders would multiply rows.
    commission_by = {
        (row["distributor"], row["status"]): row["total"]
        for row in Commission.objects.values("distributor", "status").annotate(total=Sum("amount_fen"))}
    commissions = Commission.objects.all()
    return {
        "revenue_this_month_fen": _sum(earned.filter(completed_at__gte=this_month)),
        "revenue_all_time_fen": _sum(earned),
        "prepaid_balances_fen": _sum(Wallet.objects.all(), "balance_fen"),
        "commission_accrued_fen": _sum(commissions.filter(status=CommissionStatus.ACCRUED)),
        "commission_settled_fen": _sum(commissions.filter(status=CommissionStatus.SETTLED)),
        "plans": [{"plan_id": p.pk, "name": p.name, "duration_days": p.duration_days,
                   "purchases": p.purchases, "renewals": p.renewals, "codes_sold": p.codes_sold}
                  for p in plans],
        "distributors": [
            {"distributor_id": d.pk, "email": d.email,
             "revenue_fen": d.revenue, "codes_bought": d.codes_bought,
             "commission_accrued_fen": commission_by.get((d.pk, CommissionStatus.ACCRUED), 0),
             "commission_settled_fen": commission_by.get((d.pk, CommissionStatus.SETTLED), 0)}
            for d in distributors
        ],
        "monthly": [{"month": m.strftime("%Y-%m"), "revenue_fen": by_month.get(m.strftime("%Y-%m"), 0)}
                    for m in months],
    }
