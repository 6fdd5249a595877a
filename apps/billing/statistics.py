"""Finance figures for super admins. Months are the business's (TIME_ZONE), money in fen."""

from datetime import datetime

from django.db.models import Count, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from apps.accounts.models import Role, User

from .models import Commission, CommissionStatus, Order, OrderKind, Plan, Wallet
from .periods import month_start, months_back


def _earned_by_month(earned) -> list[dict]:
    """Earned orders summed per (month, kind, plan): one pass over the orders gives every
    order-based figure (rows: months of trading × kinds × plans, not orders)."""
    return list(earned.annotate(month=TruncMonth("completed_at", tzinfo=timezone.get_current_timezone()))
                .order_by().values("month", "kind", "plan_id")
                .annotate(orders=Count("id"), quantity=Coalesce(Sum("quantity"), 0),
                          amount=Coalesce(Sum("amount_fen"), 0)))


def _plan_figures(groups: list[dict]) -> list[dict]:
    figures = {}
    for group in groups:
        plan = figures.setdefault(group["plan_id"], {"purchases": 0, "renewals": 0, "codes_sold": 0})
        if group["kind"] == OrderKind.PURCHASE:
            plan["purchases"] += group["orders"]
        elif group["kind"] == OrderKind.RENEWAL:
            plan["renewals"] += group["orders"]
        elif group["kind"] == OrderKind.CODE_BATCH:
            plan["codes_sold"] += group["quantity"]
    empty = {"purchases": 0, "renewals": 0, "codes_sold": 0}
    return [{"plan_id": p.pk, "name": p.name, "duration_days": p.duration_days,
             **figures.get(p.pk, empty)} for p in Plan.objects.order_by("duration_days")]


def _distributors(earned, commission_by: dict) -> list[dict]:
    """Each distributor with its code-batch revenue, summed over its own orders (the buyer index),
    and nothing else read."""
    batches = (earned.filter(kind=OrderKind.CODE_BATCH, buyer=OuterRef("pk")).order_by()
               .values("buyer"))
    distributors = User.objects.filter(role=Role.DISTRIBUTOR).order_by("email").annotate(
        revenue=Coalesce(Subquery(batches.annotate(total=Sum("amount_fen")).values("total")), 0),
        codes_bought=Coalesce(Subquery(batches.annotate(total=Sum("quantity")).values("total")), 0))
    return [{"distributor_id": d.pk, "email": d.email, "revenue_fen": d.revenue,
             "codes_bought": d.codes_bought,
             "commission_accrued_fen": commission_by.get((d.pk, CommissionStatus.ACCRUED), 0),
             "commission_settled_fen": commission_by.get((d.pk, CommissionStatus.SETTLED), 0)}
            for d in distributors]


def finance_statistics(*, now: datetime | None = None) -> dict:
    """Five queries whatever the size of the books: orders once (grouped by month, kind and plan),
    the plans, the distributors (each summed through the buyer index), commissions once
    (grouped), balances once."""
    now = now or timezone.now()
    months = months_back(month_start(now), 12)
    groups = _earned_by_month(Order.objects.earned())
    by_month: dict[str, int] = {}
    for group in groups:
        if group["month"] is not None:
            key = timezone.localtime(group["month"]).strftime("%Y-%m")
            by_month[key] = by_month.get(key, 0) + group["amount"]
    # Separate aggregates: summing commissions in the same query as orders would multiply rows.
    commission_by = {
        (row["distributor"], row["status"]): row["total"]
        for row in Commission.objects.order_by().values("distributor", "status")
        .annotate(total=Sum("amount_fen"))}

    def commission_total(status) -> int:
        return sum(total for (_who, state), total in commission_by.items() if state == status)

    return {
        "revenue_this_month_fen": by_month.get(months[-1].strftime("%Y-%m"), 0),
        "revenue_all_time_fen": sum(group["amount"] for group in groups),
        "prepaid_balances_fen": Wallet.objects.aggregate(total=Coalesce(Sum("balance_fen"), 0))["total"],
        "commission_accrued_fen": commission_total(CommissionStatus.ACCRUED),
        "commission_settled_fen": commission_total(CommissionStatus.SETTLED),
        "plans": _plan_figures(groups),
        "distributors": _distributors(Order.objects.earned(), commission_by),
        "monthly": [{"month": m.strftime("%Y-%m"), "revenue_fen": by_month.get(m.strftime("%Y-%m"), 0)}
                    for m in months],
    }
