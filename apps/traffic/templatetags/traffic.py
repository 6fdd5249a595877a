"""Traffic on the pages: `{% server_traffic server %}` (figures and the 24-hour / 30-day chart,
?traffic=24h|30d), `{% my_traffic %}` (a customer's month and 30 days), `|bitrate`,
`{% quota_bar server %}`."""

from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from apps.monitoring.charts import bar_chart

from .. import series
from ..models import Resolution

register = template.Library()

CHART_RANGES = {"24h": (timedelta(hours=24), Resolution.HOUR),
                "30d": (timedelta(days=30), Resolution.DAY)}
UNITS = [(2**40, "TB"), (2**30, "GB"), (2**20, "MB"), (2**10, "KB"), (1, "B")]


def _unit(points) -> tuple[float, str]:
    top = max((p.value for p in points), default=0)
    return next(((size, name) for size, name in UNITS if top >= size), (1, "B"))


def _chart(points, *, start, end, resolution, title):
    if not points:
        return ""
    scale, unit = _unit(points)
    return bar_chart(points, start=start, end=end, step=series.STEPS[resolution],
                     unit=f" {unit}", title=title, scale=scale)


def chart_range(request) -> str:
    chosen = request.GET.get("traffic", "")
    return chosen if chosen in CHART_RANGES else "24h"


@register.filter
def bitrate(bps) -> str:
    """12345678 → "12.3 Mbit/s"."""
    value = float(bps or 0)
    for size, name in ((1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")):
        if value >= size:
            return f"{value / size:.3g} {name}"
    return f"{value:.0f} bit/s"


@register.simple_tag
def quota_bar(server):
    """A small bar: the share of the monthly quota used (nothing without a quota)."""
    if not server.monthly_quota_bytes:
        return ""
    share = min(server.traffic_month_bytes / server.monthly_quota_bytes, 1.0)
    level = "full" if share >= 1 else "warn" if share >= 0.8 else ""
    # An SVG whose bar is an attribute: the Content-Security-Policy allows no inline style.
    return format_html('<svg class="quota-bar {}" viewBox="0 0 100 1" preserveAspectRatio="none" '
                       'role="img" aria-label="{}%"><title>{}%</title><line x1="0" y1=".5" x2="{}" '
                       'y2=".5" stroke-width="1"/>'
                       '</svg>', level, f"{share * 100:.0f}", f"{share * 100:.0f}",
                       f"{share * 100:.0f}")


@register.inclusion_tag("traffic/_server_traffic.html", takes_context=True)
def server_traffic(context, server):
    request = context["request"]
    chosen = chart_range(request)
    span, resolution = CHART_RANGES[chosen]
    end = timezone.now()
    start = end - span
    points = series.server_series(server_id=server.pk, resolution=resolution, start=start,
                                  end=end)
    title = _("Traffic, last 24 hours (hourly)") if chosen == "24h" else _(
        "Traffic, last 30 days (daily)")
    return {"server": server, "range": chosen, "ranges": list(CHART_RANGES),
            "next_reset": series.next_reset(server), "totals": series.totals(points),
            "chart": _chart(points, start=start, end=end, resolution=resolution, title=title),
            "sampled": server.last_sample_at is not None or server.traffic_total_bytes > 0}


@register.inclusion_tag("traffic/_my_traffic.html", takes_context=True)
def my_traffic(context):
    user = context["request"].user
    end = timezone.now()
    start = end - CHART_RANGES["30d"][0]
    points = series.customer_series(user_id=user.pk, resolution=Resolution.DAY, start=start,
                                    end=end)
    month_bytes = series.customer_month_bytes(user_id=user.pk)
    return {"month_bytes": month_bytes, "sampled": bool(points) or month_bytes > 0,
            "chart": _chart(points, start=start, end=end, resolution=Resolution.DAY,
                            title=_("My traffic, last 30 days"))}
