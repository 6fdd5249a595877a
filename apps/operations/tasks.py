from celery import shared_task

from . import services
from .jobs import periodic_job


# acks_late + reject_on_worker_lost: a killed worker's message goes back to the broker (the
# sweeper covers brokers that keep it until a visibility timeout). Running twice is harmless:
# execute() claims the row with a conditional update.
@shared_task(name="operations.run", ignore_result=True, acks_late=True,
             reject_on_worker_lost=True)
def run_operation(operation_id: int) -> str | None:
    operation = services.execute(operation_id)
    return operation.state if operation is not None else None


@shared_task(name="operations.sweep", ignore_result=True)
@periodic_job("operations.sweep")
def sweep() -> dict:
    report = services.sweep()
    from .exports import delete_expired

    return {"requeued": report.requeued, "expired_leases": report.expired_leases,
            "exports_deleted": delete_expired()}
