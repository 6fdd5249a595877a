"""Bar charts of one value per month, drawn on the server as SVG (templates/_month_bars.html):
no script, no style attribute, nothing fetched from elsewhere. The finance page charts revenue,
the distributor portal the codes its customers activated."""

WIDTH, HEIGHT = 720, 220
TOP, BOTTOM = 24, 28  # room for the value above a bar and the month below it


def month_bars(months: list[tuple[str, int, str]], *, value_name: str) -> dict:
    """Bars for the template from (month "YYYY-MM", value, value as shown) in order; each bar
    carries its value as data-<value_name> for those who read the page by machine."""
    slot = WIDTH / max(len(months), 1)
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = HEIGHT - BOTTOM
    peak = max((value for _month, value, _shown in months), default=0) or 1
    bars = []
    for index, (month, value, shown) in enumerate(months):
        height = round(plot_height * value / peak)
        bars.append({
            "month": month, "value": value, "shown": shown,
            "x": round(index * slot + slot * 0.15, 1), "width": round(slot * 0.7, 1),
            "y": baseline - height, "height": height,
            "label_x": round(index * slot + slot / 2, 1), "label_y": baseline - height - 6,
        })
    return {"width": WIDTH, "height": HEIGHT, "baseline": baseline, "month_y": HEIGHT - 8,
            "value_name": value_name, "bars": bars}
