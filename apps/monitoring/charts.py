"""Line charts as inline SVG, drawn on the server (no JavaScript, nothing fetched from elsewhere).
Each line is a series of points over a time window; the y axis starts at 0."""

from django.utils import timezone
from django.utils.html import format_html, format_html_join

WIDTH, HEIGHT = 640, 160
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 8, 20
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]


def _nice_ceiling(value: float) -> float:
    """A round number at or above `value` for the top of the axis (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def line_chart(lines: list[tuple[str, list]], *, start, end, unit: str = "",
               title: str = "") -> str:
    """SVG of `lines` ([(name, [Point…])]) between `start` and `end` (datetimes)."""
    span = max((end - start).total_seconds(), 1.0)
    top = _nice_ceiling(max((p.value for _n, points in lines for p in points), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment) -> float:
        return LEFT + plot_w * min(max((moment - start).total_seconds() / span, 0), 1)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - min(max(value / top, 0), 1))

    polylines = format_html_join("", '<polyline fill="none" stroke="{}" stroke-width="1.5" '
                                     'points="{}"><title>{}</title></polyline>', (
        (COLOURS[i % len(COLOURS)],
         " ".join(f"{x(p.at):.1f},{y(p.value):.1f}" for p in points), name)
        for i, (name, points) in enumerate(lines) if points))
    # Colours by class (static/css/app.css .legend-N): the Content-Security-Policy allows no
    # inline style attribute.
    legend = format_html_join(" ", '<span class="legend legend-{}">■ {}</span>', (
        (i % len(COLOURS), name) for i, (name, _points) in enumerate(lines)))
    axes = format_html(
        '<line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="#999"/>'
        '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#999"/>'
        '<text x="{tx}" y="{ty}" font-size="10" text-anchor="end">{top}{unit}</text>'
        '<text x="{tx}" y="{b}" font-size="10" text-anchor="end">0</text>',
        l=LEFT, t=TOP, b=TOP + plot_h, r=WIDTH - RIGHT, tx=LEFT - 4, ty=TOP + 10,
        top=f"{top:g}", unit=unit)
    svg = format_html('<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" '
                      'width="100%" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">'
                      '{}{}</svg>', title, WIDTH, HEIGHT, axes, polylines)
    return format_html('<figure class="chart">{}<figcaption>{}</figcaption></figure>', svg, legend)


def bar_chart(bars: list, *, start, end, step, unit: str = "", title: str = "",
              scale: float = 1.0) -> str:
    """SVG of one bar per period: `bars` have `.at` (the period's start) and `.value`, each bar
    `step` (a timedelta) wide, between `start` and `end`; values are divided by `scale` (bytes
    shown in GB, say) and the axis top is labelled with `unit`."""
    span = max((end - start).total_seconds(), 1.0)
    top = _nice_ceiling(max((b.value / scale for b in bars), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    width = max(plot_w * step.total_seconds() / span - 1, 1)

    def x(moment) -> float:
        return LEFT + plot_w * min(max((moment - start).total_seconds() / span, 0), 1)

    def height(value: float) -> float:
        return plot_h * min(value / scale / top, 1)

    rects = format_html_join("", '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                                 '<title>{} {}</title></rect>', (
        (f"{x(b.at):.1f}", f"{TOP + plot_h - height(b.value):.1f}",
         f"{min(width, LEFT + plot_w - x(b.at)):.1f}", f"{height(b.value):.1f}", COLOURS[0],
         timezone.localtime(b.at).strftime("%m-%d %H:%M"), f"{b.value / scale:.3g}{unit}")
        for b in bars if b.value > 0))
    axes = format_html(
        '<line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="#999"/>'
        '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#999"/>'
        '<text x="{tx}" y="{ty}" font-size="10" text-anchor="end">{top}{unit}</text>'
        '<text x="{tx}" y="{b}" font-size="10" text-anchor="end">0</text>'
        '<text x="{l}" y="{xy}" font-size="10">{first}</text>'
        '<text x="{r}" y="{xy}" font-size="10" text-anchor="end">{last}</text>',
        l=LEFT, t=TOP, b=TOP + plot_h, r=WIDTH - RIGHT, tx=LEFT - 4, ty=TOP + 10,
        top=f"{top:g}", unit=unit, xy=HEIGHT - 4,
        first=timezone.localtime(start).strftime("%m-%d %H:%M"),
        last=timezone.localtime(end).strftime("%m-%d %H:%M"))
    svg = format_html('<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" '
                      'width="100%" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">'
                      '{}{}</svg>', title, WIDTH, HEIGHT, axes, rects)
    return format_html('<figure class="chart">{}<figcaption>{}</figcaption></figure>', svg, title)
