"""manage.py sync_schedules: the default periodic jobs, created once, operators' edits kept."""

from io import StringIO

import pytest
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

NAME = "Send the e-mail outbox"


def sync(*args) -> str:
    out = StringIO()
    call_command("sync_schedules", *args, stdout=out)
    return out.getvalue()


def _job() -> PeriodicTask:
    return PeriodicTask.objects.get(name=NAME)


def test_creates_the_outbox_job_every_60_seconds(db):
    assert "created" in sync()
    job = _job()
    assert job.task == "notifications.dispatch_outbox"
    assert job.enabled
    assert (job.interval.every, job.interval.period) == (60, IntervalSchedule.SECONDS)
    assert job.crontab is None


def test_running_twice_creates_no_duplicate(db):
    sync()
    sync()
    assert PeriodicTask.objects.filter(task="notifications.dispatch_outbox").count() == 1
    assert IntervalSchedule.objects.filter(every=60, period=IntervalSchedule.SECONDS).count() == 1


def test_an_operators_edit_survives_a_rerun(db):
    sync()
    job = _job()
    job.enabled = False
    job.interval = IntervalSchedule.objects.create(every=300, period=IntervalSchedule.SECONDS)
    job.save()
    sync()
    job = _job()
    assert job.enabled is False
    assert job.interval.every == 300


@pytest.mark.parametrize("edit", ["disable_and_slow_down", "switch_to_crontab"])
def test_reset_restores_the_default(db, edit):
    sync()
    job = _job()
    job.enabled = False
    if edit == "switch_to_crontab":
        job.interval = None
        job.crontab = CrontabSchedule.objects.create(minute="*/5")
    else:
        job.interval = IntervalSchedule.objects.create(every=300, period=IntervalSchedule.SECONDS)
    job.save()
    assert "reset" in sync("--reset")
    job = _job()
    assert job.enabled is True
    assert (job.interval.every, job.interval.period) == (60, IntervalSchedule.SECONDS)
    assert job.crontab is None
    assert job.task == "notifications.dispatch_outbox"


def test_duplicate_interval_rows_do_not_break_the_command(db):
    # Nothing in django-celery-beat makes (every, period) unique; the admin happily adds a second.
    IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    sync()
    assert _job().interval.every == 60
