"""Traffic's periodic jobs; thin: the services do the work."""

from celery import shared_task
from django.utils import timezone

from apps.operations.jobs import periodic_job

from . import quota, sampling


@shared_task(name="traffic.sample", ignore_result=True)
@periodic_job("traffic.sample")
def sample() -> dict:
    """One sampling round of every server and relay (a run that overlaps the previous one is
    skipped: the next round's deltas cover the gap)."""
    report = sampling.sample_round()
    return {"servers": report.servers, "relays": report.relays, "bytes": report.bytes,
            "failed": report.failed}


@shared_task(name="traffic.prune", ignore_result=True)
@periodic_job("traffic.prune")
def prune() -> dict:
    return sampling.prune()


@shared_task(name="traffic.follow_quotas", ignore_result=True)
@periodic_job("traffic.follow_quotas")
def follow_quotas() -> dict:
    """The safety net of the sampling round: quota rules for servers a round left out
    (unreachable ones) are followed anyway."""
    return {"servers": quota.follow_all(now=timezone.now())}
