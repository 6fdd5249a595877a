"""Run one call from many threads at once, each on its own database connection."""

import threading

from django.db import connection

from derpmgr.errors import ServiceError


def run_together(count: int, attempt) -> tuple[list, list[BaseException]]:
    """Start `attempt(n)` for n in range(count) behind one barrier.

    Returns (outcomes, unexpected): an outcome is "ok" or the refusal's error code; anything that
    is not a ServiceError is unexpected and the test must see it.
    """
    start = threading.Barrier(count)
    outcomes: list[str] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        try:
            start.wait()
            attempt(n)
            result = "ok"
        except ServiceError as refusal:
            result = refusal.code
        except BaseException as exc:
            with lock:
                unexpected.append(exc)
            return
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return outcomes, unexpected
