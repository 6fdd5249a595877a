"""The distributor portal's sales figures: this month's sales (codes the distributor's
customers activated, code batches paid for, what the customers they brought in bought and the
commission it earned) and the codes activated in each of the last months, for the chart.

Months are the business's (TIME_ZONE). Three aggregate queries over the distributor's own rows
(`visible_to`), whatever they sold. Refunded, cancelled and unpaid orders count for nothing.
"""

from datetime import datetime

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from apps.billing import charts, periods
from apps.billing.models import EARNED_STATUSES, Commission, Order, OrderKind, format_fen

from .models import ActivationCode, CodeStatus

MONTHS_CHARTED = 12


def activations_per_month(distributor, months: list[datetime]) -> list[tuple[str, int]]:
    """("YYYY-MM", codes of the distributor's activated that month) for each of `months`."""
    counted = {
        timezone.localtime(row["month"]).strftime("%Y-%m"): row["n"]
        for row in ActivationCode.objects.visible_to(distributor)
        .filter(status=CodeStatus.USED, used_at__gte=months[0])
        .annotate(month=TruncMonth("used_at", tzinfo=timezone.get_current_timezone()))
        .order_by().values("month").annotate(n=Count("pk"))}
    return [(start.strftime("%Y-%m"), counted.get(start.strftime("%Y-%m"), 0)) for start in months]


def batches_since(distributor, start: datetime) -> dict:
    """Code batches paid for since `start`: how many codes, for how much."""
    return (Order.objects.visible_to(distributor).earned()
            .filter(kind=OrderKind.CODE_BATCH, completed_at__gte=start)
            .aggregate(codes=Coalesce(Sum("quantity"), 0), spent=Coalesce(Sum("amount_fen"), 0)))


def referred_since(distributor, start: datetime) -> dict:
    """What the customers the distributor brought in bought since `start` (the orders that
    earned commission and were not refunded since), and the commission earned on them."""
    return (Commission.objects.visible_to(distributor)
            .filter(created_at__gte=start, order__status__in=EARNED_STATUSES)
            .aggregate(orders=Count("pk"), sales=Coalesce(Sum("order__amount_fen"), 0),
                       earned=Coalesce(Sum("amount_fen"), 0)))


def sales_this_month(distributor, *, now: datetime | None = None) -> dict:
    """`sales` (this month's figures, money formatted) and `chart` (codes activated per month)."""
    start = periods.month_start(now or timezone.now())
    per_month = activations_per_month(distributor, periods.months_back(start, MONTHS_CHARTED))
    batches, referred = batches_since(distributor, start), referred_since(distributor, start)
    return {
        "sales": {"activated": per_month[-1][1], "bought": batches["codes"],
                  "spent": format_fen(batches["spent"]), "referred_orders": referred["orders"],
                  "referred_sales": format_fen(referred["sales"]),
                  "commission": format_fen(referred["earned"])},
        "chart": charts.month_bars([(month, n, str(n)) for month, n in per_month],
                                   value_name="codes"),
    }
