from celery import shared_task

from . import services


@shared_task(name="distribution.expire_unused_codes", ignore_result=True)
def expire_unused_codes() -> int:
    return services.expire_unused_codes()
