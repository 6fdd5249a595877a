"""Monitoring's periodic jobs and background work; thin: the services do the work."""


# --- Alert delivery (webhooks; e-mail goes through the outbox) -------------------------------

from celery import shared_task

from apps.monitoring import delivery as _delivery


@shared_task(name="monitoring.deliver_alerts", ignore_result=True)
def deliver_alerts(delivery_ids: list[int] | None = None) -> dict:
    """Post the due webhook deliveries (only these, if ids are given). Run right after an alert
    event commits and every 30 seconds, so a lost message is picked up; runs overlapping each
    other share the rows instead of sending any twice."""
    return _delivery.deliver_due(ids=delivery_ids).__dict__
