"""The distributor portal's dashboard numbers: codes by what they are now, this month's sales
(codes the distributor's customers activated, code batches bought, referred customers'
purchases and the commission they earned) and the codes activated per month for the chart.

Months are the business's (TIME_ZONE). Each figure group is one aggregate over the
distributor's own rows (`visible_to`): the page costs the same queries however much they sold.
"""

from datetime import datetime

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from apps.billing import charts, statistics
from apps.billing.models import (
    EARNED_STATUSES,
    Commission,
    CommissionStatus,
    Order,
    OrderKind,
    format_fen,
)

from .models import ActivationCode, CodeStatus

MONTHS_CHARTED = 12


def code_counts(codes, *, now: datetime) -> dict:
    """Codes by what they are now (an unused code past its deadline counts as expired), and
    how many were activated since the month began."""
    return codes.aggregate(
        unused=Count("pk", filter=Q(status=CodeStatus.UNUSED, expires_at__gt=now)),
        used=Count("pk", filter=Q(status=CodeStatus.USED)),
        expired=Count("pk", filter=Q(status=CodeStatus.EXPIRED)
                      | Q(status=CodeStatus.UNUSED, expires_at__lte=now)),
        revoked=Count("pk", filter=Q(status=CodeStatus.REVOKED)),
        activated_this_month=Count("pk", filter=Q(status=CodeStatus.USED,
                                                  used_at__gte=statistics.month_start(now))),
    )


def _fen(value) -> str:
    return format_fen(value or 0)


def commission(distributor, *, now: datetime) -> dict:
    """Commission accrued and settled, and this month's referred sales and what they earned
    (sales since refunded count for nothing)."""
    this_month = Q(created_at__gte=statistics.month_start(now), order__status__in=EARNED_STATUSES)
    figures = Commission.objects.visible_to(distributor).aggregate(
        accrued=Sum("amount_fen", filter=Q(status=CommissionStatus.ACCRUED)),
        settled=Sum("amount_fen", filter=Q(status=CommissionStatus.SETTLED)),
        month_earned=Sum("amount_fen", filter=this_month),
        month_sales=Sum("order__amount_fen", filter=this_month),
        month_orders=Count("pk", filter=this_month))
    return {"accrued": _fen(figures["accrued"]), "settled": _fen(figures["settled"]),
            "month_earned": _fen(figures["month_earned"]),
            "month_sales": _fen(figures["month_sales"]), "month_orders": figures["month_orders"]}


def batches_this_month(distributor, *, now: datetime) -> dict:
    """Code batches paid for since the month began: how many codes, for how much (pending,
    cancelled and refunded batches do not count)."""
    figures = (Order.objects.visible_to(distributor).earned()
               .filter(kind=OrderKind.CODE_BATCH, completed_at__gte=statistics.month_start(now))
               .aggregate(codes=Coalesce(Sum("quantity"), 0), spent=Sum("amount_fen")))
    return {"codes": figures["codes"], "spent": _fen(figures["spent"])}


def activations_chart(distributor, *, now: datetime) -> dict:
    """The codes the distributor's customers activated in each of the last MONTHS_CHARTED
    months, as bars (templates/_month_bars.html)."""
    months = statistics.months_back(statistics.month_start(now), MONTHS_CHARTED)
    tz = timezone.get_current_timezone()
    per_month = {
        timezone.localtime(row["month"]).strftime("%Y-%m"): row["n"]
        for row in ActivationCode.objects.visible_to(distributor)
        .filter(status=CodeStatus.USED, used_at__gte=months[0])
        .annotate(month=TruncMonth("used_at", tzinfo=tz)).values("month")
        .annotate(n=Count("pk")).order_by()}
    rows = []
    for start in months:
        label = start.strftime("%Y-%m")
        count = per_month.get(label, 0)
        rows.append((label, count, str(count)))
    return charts.month_bars(rows, value_name="codes")
