"""Traffic's periodic jobs; thin: the services do the work."""


# --- Quotas and usage (apps/traffic/quota.py, usage.py) ---------------------------------------
# The sampling round calls quota.after_sampling and usage.evaluate itself; this job is the safety
# net for servers a round left out (unreachable ones): their quota state is followed anyway.
# (Merging: hoist these imports to the top of the module.)

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from apps.operations.jobs import periodic_job


@shared_task(name="traffic.follow_quotas", ignore_result=True)
@periodic_job("traffic.follow_quotas")
def follow_quotas() -> dict:
    """Quota rules for every server with a quota, over quota, or with paused relays."""
    from apps.servers.models import Server, ServerStatus

    from . import quota

    ids = list(Server.objects.filter(
        Q(monthly_quota_bytes__gt=0) | Q(status=ServerStatus.OVER_QUOTA)
        | Q(instances__paused_for_quota=True)).distinct().values_list("pk", flat=True))
    quota.after_sampling(server_ids=ids, now=timezone.now())
    return {"servers": len(ids)}
