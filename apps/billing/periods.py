"""The business's days and months (TIME_ZONE), for the figures that count per day or month."""

from datetime import datetime

from django.utils import timezone


def day_start(moment: datetime) -> datetime:
    """Midnight of `moment`'s day in the business's time zone."""
    return timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(moment: datetime) -> datetime:
    """The first moment of `moment`'s month in the business's time zone."""
    return day_start(moment).replace(day=1)


def months_back(start: datetime, count: int) -> list[datetime]:
    """The starts of the `count` months ending with `start`'s, oldest first."""
    months, year, month = [], start.year, start.month
    for _i in range(count):
        months.append(start.replace(year=year, month=month))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(months))
