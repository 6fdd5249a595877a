"""A lease kept alive from a thread of its own while slow work runs (an SMTP conversation, SSH to
a server, a periodic job): the work is never mistaken for a dead worker's, and a worker that
really died stops renewing, so its lease runs out and another takes the work over.

Shared by the e-mail outbox, operations and periodic jobs; each says how to renew its own lease.
"""

import contextlib
import logging
import threading
from collections.abc import Callable

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def kept_alive(renew: Callable[[], object], *, every: float, name: str = "lease"):
    """Call `renew()` every `every` seconds while the block runs. A falsy answer (no row
    updated: the claim was taken over) ends the renewals; a database error is logged and the
    next beat tries again while the lease still runs."""
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(every):
                try:
                    if not renew():
                        logger.warning("%s: taken over by another worker; no longer renewed here",
                                       name)
                        return
                except DatabaseError:
                    logger.warning("%s: could not renew the lease", name, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, daemon=True, name=f"heartbeat-{name}")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
