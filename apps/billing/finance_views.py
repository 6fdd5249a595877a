"""The finance page (billing.view_finance: super admins, or an admin granted it): the figures
of statistics.finance_statistics(), no more."""

from django.shortcuts import render

from apps.accounts import policy

from . import statistics
from .models import format_fen

# The 12-month chart, drawn on the server as SVG (no script, nothing fetched from elsewhere).
CHART_WIDTH, CHART_HEIGHT = 720, 220
CHART_TOP, CHART_BOTTOM = 24, 28  # room for the amount above a bar and the month below it


def revenue_chart(monthly: list[dict]) -> dict:
    """Bars for the template: position, height and labels of each month's revenue."""
    slot = CHART_WIDTH / max(len(monthly), 1)
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline = CHART_HEIGHT - CHART_BOTTOM
    peak = max((m["revenue_fen"] for m in monthly), default=0) or 1
    bars = []
    for index, month in enumerate(monthly):
        height = round(plot_height * month["revenue_fen"] / peak)
        bars.append({
            "month": month["month"], "revenue_fen": month["revenue_fen"],
            "amount": format_fen(month["revenue_fen"]),
            "x": round(index * slot + slot * 0.15, 1), "width": round(slot * 0.7, 1),
            "y": baseline - height, "height": height,
            "label_x": round(index * slot + slot / 2, 1), "label_y": baseline - height - 6,
        })
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "baseline": baseline,
            "month_y": CHART_HEIGHT - 8, "bars": bars}


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
