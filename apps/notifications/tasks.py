from celery import shared_task

from apps.operations.jobs import periodic_job

from . import services


@shared_task(name="notifications.dispatch_outbox", ignore_result=True)
@periodic_job("notifications.dispatch_outbox")
def dispatch_outbox() -> dict:
    """The periodic run: send the due outbox rows (once a minute, however many beats ask)."""
    return services.dispatch_outbox().__dict__


@shared_task(name="notifications.dispatch_outbox_now", ignore_result=True)
def dispatch_outbox_now() -> dict:
    """Right after a request queues mail: send without waiting for the minute (the outbox is
    safe to drain from several workers at once)."""
    return services.dispatch_outbox().__dict__
