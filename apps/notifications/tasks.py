from celery import shared_task

from . import services


@shared_task(name="notifications.dispatch_outbox", ignore_result=True)
def dispatch_outbox() -> dict:
    """Send the due outbox rows (every minute, and right after a request queues mail)."""
    return services.dispatch_outbox().__dict__
