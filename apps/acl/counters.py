"""How many relay admissions were allowed and refused, for the Prometheus endpoint.

The admission path only bumps a counter in this process's memory (`next()` on an
itertools.count: atomic under the GIL, no lock, no I/O). At most once every
ADMISSION_COUNTER_FLUSH_SECONDS a request hands what this process counted since the last flush
to a short-lived background thread, which adds it to the shared cache (Redis INCRBY, or the
database cache's atomic increment); the request never waits for it. What a process counted in
its last seconds before exiting is flushed at exit. /metrics reads the shared totals.
"""

import atexit
import itertools
import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)

KINDS = ("allowed", "refused")
KEY = "metrics:admission:{}"


class AdmissionCounters:
    def __init__(self):
        self._counters = [itertools.count(1), itertools.count(1)]
        self._seen = [0, 0]  # the highest count this process handed out, per kind
        self._flushed = [0, 0]
        self._due = 0.0
        self._lock = threading.Lock()  # one flush at a time; never taken on the request path

    def note(self, allowed: bool) -> None:
        index = 0 if allowed else 1
        count = next(self._counters[index])
        if count > self._seen[index]:
            self._seen[index] = count
        if time.monotonic() >= self._due:
            self._due = time.monotonic() + settings.ADMISSION_COUNTER_FLUSH_SECONDS
            threading.Thread(target=self._flush_in_background, name="admission-counters",
                             daemon=True).start()

    def _flush_in_background(self) -> None:
        try:
            self.flush()
        finally:  # the thread's own database connection (database cache): never left open
            close_old_connections()
            connection.close()

    def flush(self, *, quiet: bool = False) -> None:
        """Add what this process counted since the last flush to the shared totals (`quiet`: at
        exit, when logging may no longer work)."""
        if not self._lock.acquire(blocking=False):
            return  # another thread is flushing; the next flush takes what it left
        try:
            for index, kind in enumerate(KINDS):
                delta = self._seen[index] - self._flushed[index]
                if delta <= 0:
                    continue
                key = KEY.format(kind)
                cache.add(key, 0, timeout=None)
                cache.incr(key, delta)
                self._flushed[index] += delta
        except Exception:  # bookkeeping never takes anything down; the counts stay for later
            if not quiet:
                logger.warning("could not flush the admission counters", exc_info=True)
        finally:
            self._lock.release()


def shared_totals() -> dict[str, int]:
    """{"allowed": n, "refused": n} over every process (as flushed so far)."""
    found = cache.get_many([KEY.format(kind) for kind in KINDS])
    return {kind: int(found.get(KEY.format(kind)) or 0) for kind in KINDS}


admission_counters = AdmissionCounters()
atexit.register(admission_counters.flush, quiet=True)
