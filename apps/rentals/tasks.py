from celery import shared_task

from apps.operations.jobs import periodic_job

from . import services


@shared_task(name="rentals.advance", ignore_result=True)
@periodic_job("rentals.advance")
def advance() -> dict:
    """Reminders, suspensions at the end, deregistrations; then relay work a transition still
    owes (sent again if it was lost or gave up)."""
    return {"advanced": services.advance_due(), "relay_work": services.send_pending_relay_work()}


@shared_task(name="rentals.recover_shortfalls", ignore_result=True)
@periodic_job("rentals.recover_shortfalls")
def recover_shortfalls() -> int:
    return services.recover_shortfalls()


@shared_task(name="rentals.recover_shortfalls_now", ignore_result=True)
def recover_shortfalls_now() -> int:
    """Capacity appeared (a server added or back): not bound to the periodic interval."""
    return services.recover_shortfalls()
