"""Rate limits, on whatever the default cache is (Redis or the database).

hit() and check() count in django-ratelimit's fixed windows (registration, resends, resets,
codes). Window is a sliding window, for sign-in, where a burst across a window's edge must not
double what an attacker may try.

A window of `period` seconds is cut into SLICES slices, each a counter in the cache (`add` then
`incr`, atomic on Redis and on derpmgr.cache.AtomicDatabaseCache). The count is the sum of the
slices that started within the last `period` seconds: a burst at the end of one fixed window
and the start of the next cannot double the limit, and an attempt stops counting between
period − period/SLICES and period seconds after it was made. One `get_many` reads a window.
"""

import hashlib
import math
import re
import time

from django.core.cache import cache
from django_ratelimit.core import get_usage

from derpmgr.errors import RateLimited

SLICES = 10
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# The clock every window reads; tests may replace it (time_machine moves it too).
clock = time.time


def parse_rate(rate: str) -> tuple[int, int]:
    """(count, period in seconds) from "10/10m", "30/h" and the like."""
    match = _RATE.match(rate or "")
    if match is None:
        raise ValueError(f"not a rate: {rate!r} (write count/period, e.g. 10/10m)")
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * _UNIT[unit]


class Window:
    """One sliding window: `group` (what is counted) for one `value` (whom it is counted for)."""

    def __init__(self, *, group: str, value: str, rate: str):
        self.limit, self.period = parse_rate(rate)
        self.slice = max(1, math.ceil(self.period / SLICES))
        digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
        self.prefix = f"rl:{group}:{self.slice}:{digest}:"

    def _slices(self, now: float) -> list[int]:
        """The starts (in slices since the epoch) of the slices that still count, oldest first."""
        current = int(now // self.slice)
        oldest = math.floor((now - self.period) / self.slice) + 1
        return list(range(max(oldest, current - SLICES), current + 1))

    def counts(self, now: float | None = None) -> list[tuple[int, int]]:
        """[(slice start, attempts in it)] for the slices that still count, oldest first."""
        now = clock() if now is None else now
        starts = self._slices(now)
        stored = cache.get_many([f"{self.prefix}{start}" for start in starts])
        return [(start, int(stored.get(f"{self.prefix}{start}", 0))) for start in starts]

    def count(self) -> int:
        return sum(n for _start, n in self.counts())

    def add(self) -> int:
        """Count one attempt now; the window's count including it."""
        now = clock()
        key = f"{self.prefix}{int(now // self.slice)}"
        timeout = self.period + 2 * self.slice
        cache.add(key, 0, timeout=timeout)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr: start the slice again
            cache.set(key, 1, timeout=timeout)
        return sum(n for _start, n in self.counts(now))

    def time_left(self, below: int | None = None) -> int:
        """Seconds until the count drops below `below` (default: the limit)."""
        now = clock()
        counts = self.counts(now)
        total = sum(n for _start, n in counts)
        below = self.limit if below is None else below
        wait = 0.0
        for start, n in counts:
            if total < below:
                break
            total -= n
            wait = start * self.slice + self.period - now  # when this slice stops counting
        return max(1, math.ceil(wait))


def _fixed_window(request, *, group: str, rate: str, value: str | None, increment: bool) -> dict:
    """django-ratelimit's count for the current fixed window: per client address, or per `value`."""
    key = "ip"
    if value is not None:
        normalised = value.strip().lower()

        def key(_group, _request):
            return normalised

    return get_usage(request, group=group, key=key, rate=rate, increment=increment)


def hit(request, *, group: str, rate: str, value: str | None = None) -> None:
    """Count one attempt; raise RateLimited once `rate` is exceeded in the current window.

    Counts per client address; with `value`, per that value (an account's e-mail, say), so one
    attacker cannot spread guesses over many addresses.
    """
    usage = _fixed_window(request, group=group, rate=rate, value=value, increment=True)
    if usage is not None and usage["should_limit"]:
        raise RateLimited(usage["time_left"])


def check(request, *, group: str, rate: str, value: str | None = None) -> None:
    """Like hit() but without counting: refuse if the limit is already reached. Used where only
    failures count (wrong codes): check() before the attempt, hit() after a failure."""
    usage = _fixed_window(request, group=group, rate=rate, value=value, increment=False)
    if usage is not None and usage["count"] >= usage["limit"]:
        raise RateLimited(usage["time_left"])
