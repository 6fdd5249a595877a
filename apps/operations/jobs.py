"""Periodic jobs run once per interval, whatever sends them.

Each job holds a JobLock row: a run claims it with one conditional update that succeeds only
if the job has not run in the current interval and nobody holds it (or the holder's lease ran
out). That works the same on PostgreSQL and SQLite, across processes and machines; a heartbeat
renews the hold while a slow run goes on.
"""

import functools
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from derpmgr import heartbeat

from .models import JobLock

logger = logging.getLogger(__name__)


def interval_of(task_name: str) -> int:
    """The job's interval in seconds as beat schedules it (the admin may have changed it)."""
    from django_celery_beat.models import PeriodicTask

    task = (PeriodicTask.objects.filter(task=task_name, enabled=True)
            .select_related("interval").order_by("id").first())
    if task is not None and task.interval is not None:
        return max(1, int(task.interval.schedule.run_every.total_seconds()))
    from derpmgr.schedules import DEFAULT_SCHEDULES

    for schedule in DEFAULT_SCHEDULES.values():
        if schedule["task"] == task_name:
            return schedule["every_seconds"]
    return 60


def run_once_per_interval(task_name: str, work, *args, **kwargs):
    """work(*args, **kwargs) unless this interval's run happened or is happening elsewhere;
    returns its result, or None when skipped."""
    now = timezone.now()
    slot = int(now.timestamp()) // interval_of(task_name)
    token = uuid.uuid4().hex
    hold = timedelta(seconds=settings.OPERATION_LEASE_SECONDS)
    try:
        with transaction.atomic():
            JobLock.objects.get_or_create(name=task_name)
    except IntegrityError:  # created a moment ago by the other beat's run
        pass
    claimed = JobLock.objects.filter(name=task_name, slot__lt=slot).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    ).update(slot=slot, holder=token, locked_until=now + hold, last_started_at=now,
             runs=F("runs") + 1)
    if not claimed:
        JobLock.objects.filter(name=task_name).update(skipped=F("skipped") + 1)
        logger.info("%s: already run (or running) in this interval; skipped", task_name)
        return None
    mine = JobLock.objects.filter(name=task_name, holder=token)
    try:
        with heartbeat.kept_alive(lambda: mine.update(locked_until=timezone.now() + hold),
                                  every=settings.OPERATION_LEASE_SECONDS / 3, name=task_name):
            return work(*args, **kwargs)
    finally:
        mine.update(locked_until=None, holder="", last_finished_at=timezone.now())


def periodic_job(task_name: str):
    """Decorate a periodic task's body: it runs at most once per interval of its schedule."""
    def decorate(work):
        @functools.wraps(work)
        def once(*args, **kwargs):
            return run_once_per_interval(task_name, work, *args, **kwargs)
        return once
    return decorate
