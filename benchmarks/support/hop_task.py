"""A task that notes when a worker took it (benchmarks/queue_hop.py): the send time it was given
and the time it started, one line per task in DATA_DIR/hops."""

import time

from celery import shared_task
from django.conf import settings


@shared_task(name="benchmarks.hop")
def hop(sent_at: float) -> None:
    started_at = time.time()
    with open(settings.DATA_DIR / "hops", "a") as hops:
        hops.write(f"{sent_at} {started_at}\n")
