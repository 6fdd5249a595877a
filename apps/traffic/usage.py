"""Abnormal usage: each customer's day against their usual volume and peak rate."""


def evaluate(*, now) -> None:
    """Called by the sampling job: learn finished days, alert on days far above the usual."""
