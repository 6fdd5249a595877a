from celery import shared_task

from apps.operations.jobs import periodic_job

from . import services


@shared_task(name="distribution.expire_unused_codes", ignore_result=True)
@periodic_job("distribution.expire_unused_codes")
def expire_unused_codes() -> int:
    return services.expire_unused_codes()
