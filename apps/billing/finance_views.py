"""The finance page (billing.view_finance: super admins, or an admin granted it): the figures
of statistics.finance_statistics(), no more."""

from django.shortcuts import render

from apps.accounts import policy

from . import charts, statistics
from .models import format_fen


def revenue_chart(monthly: list[dict]) -> dict:
    """The 12 months' revenue as bars (drawn on the server: templates/_month_bars.html)."""
    return charts.month_bars([(m["month"], m["revenue_fen"], format_fen(m["revenue_fen"]))
                              for m in monthly], value_name="revenue-fen")


@policy.page_requires("billing.view_finance")
def finance(request):
    stats = statistics.finance_statistics()
    figures = {key: format_fen(stats[key]) for key in (
        "revenue_this_month_fen", "revenue_all_time_fen", "prepaid_balances_fen",
        "commission_accrued_fen", "commission_settled_fen")}
    distributors = [{**row, "revenue": format_fen(row["revenue_fen"]),
                     "commission_accrued": format_fen(row["commission_accrued_fen"]),
                     "commission_settled": format_fen(row["commission_settled_fen"])}
                    for row in stats["distributors"]]
    return render(request, "ops/finance.html", {
        "figures": figures, "plans": stats["plans"], "distributors": distributors,
        "chart": revenue_chart(stats["monthly"]),
    })
