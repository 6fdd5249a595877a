"""A container engine for the operations benchmark: starting a relay takes BENCH_WORK_SECONDS
and each completed call is appended, with the relay's id, to BENCH_ENGINE_LOG (one write per
line: appends from several processes never interleave)."""

import os
import time


class CountingEngine:
    def start(self, instance) -> None:
        time.sleep(float(os.environ.get("BENCH_WORK_SECONDS", "0.1")))
        line = f"start {instance.pk} {os.getpid()}\n".encode()
        descriptor = os.open(os.environ["BENCH_ENGINE_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)
