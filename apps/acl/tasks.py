from celery import shared_task

from . import services


@shared_task(name="acl.reissue_expiring", ignore_result=True)
def reissue_expiring() -> int:
    return services.reissue_expiring()
