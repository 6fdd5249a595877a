from celery import shared_task
from django.conf import settings

from apps.servers.models import Server

from . import services


@shared_task(name="containers.provision_rental", ignore_result=True)
def provision_rental(user_id: int, servers: int, pinned_ids=()) -> dict:
    report = services.provision_rental(user_id=user_id, servers=servers, pinned_ids=pinned_ids)
    for instance_id in report.failed:
        start_instance.apply_async((instance_id,), countdown=5)
    return report.__dict__


@shared_task(name="containers.start_instance", bind=True, ignore_result=True,
             max_retries=settings.PROVISION_MAX_RETRIES)
def start_instance(self, instance_id: int) -> bool:
    """Retries a transient failure with growing waits; the last try rolls back."""
    final = self.request.retries >= self.max_retries
    if services.start_instance(instance_id=instance_id, final_attempt=final) or final:
        return True
    raise self.retry(countdown=10 * 2 ** self.request.retries)


@shared_task(name="containers.reconcile_server", ignore_result=True)
def reconcile_server(server_id: int) -> dict:
    server = Server.objects.filter(pk=server_id).first()
    return services.reconcile_server(server=server).__dict__ if server else {}


@shared_task(name="containers.reconcile_all", ignore_result=True)
def reconcile_all() -> int:
    """Fan out one reconcile per server (they run in parallel on several workers)."""
    ids = list(Server.objects.values_list("pk", flat=True))
    for server_id in ids:
        reconcile_server.delay(server_id)
    return len(ids)
