"""Monitoring's periodic jobs and background work; thin: the services do the work."""

from celery import shared_task

from apps.operations.jobs import periodic_job

from . import delivery, health


@shared_task(name="monitoring.probe_fleet", ignore_result=True)
@periodic_job("monitoring.probe_fleet")
def probe_fleet() -> dict:
    """One probe round of every server and relay, then failover of servers unhealthy too long
    (a run that overlaps the previous one is skipped)."""
    report = health.probe_round()
    return {"servers": len(report.servers), "relays": len(report.relays),
            "unhealthy": report.marked_unhealthy, "healthy": report.marked_healthy,
            "failovers": health.fail_over_due()}


@shared_task(name="monitoring.roll_up", ignore_result=True)
@periodic_job("monitoring.roll_up")
def roll_up() -> dict:
    return health.prune_and_roll_up()


@shared_task(name="monitoring.deliver_alerts", ignore_result=True)
def deliver_alerts(delivery_ids: list[int] | None = None) -> dict:
    """Post the due webhook deliveries (only these, if ids are given). Run right after an alert
    event commits and every 30 seconds, so a lost message is picked up; runs overlapping each
    other share the rows instead of sending any twice."""
    return delivery.deliver_due(ids=delivery_ids).__dict__
