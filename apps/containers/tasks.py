from celery import shared_task

from apps.operations.jobs import periodic_job

from . import requests


@shared_task(name="containers.reconcile_all", ignore_result=True)
@periodic_job("containers.reconcile_all")
def reconcile_all() -> int:
    """One reconcile operation per server (run in parallel by the workers; a server whose last
    reconcile still runs is not asked twice)."""
    return len(requests.reconcile_all())
