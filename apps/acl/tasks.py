from celery import shared_task

from apps.operations.jobs import periodic_job

from . import services


@shared_task(name="acl.reissue_expiring", ignore_result=True)
@periodic_job("acl.reissue_expiring")
def reissue_expiring() -> int:
    return services.reissue_expiring()
