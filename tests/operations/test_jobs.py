"""Periodic jobs run once per interval: a second beat, or a run slower than its interval, never
doubles one up."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.operations.jobs import interval_of, run_once_per_interval
from apps.operations.models import JobLock

pytestmark = pytest.mark.django_db
START = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)


def _schedule(task: str, seconds: int) -> None:
    every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(name=task, defaults={"task": task, "interval": every})


def test_the_interval_is_the_one_beat_uses():
    _schedule("test.job", 300)
    assert interval_of("test.job") == 300
    assert interval_of("notifications.dispatch_outbox") == 60  # not in the database: the default


def test_two_sends_in_one_interval_run_once_and_the_next_interval_runs_again():
    _schedule("test.job", 60)
    runs = []
    with time_machine.travel(START, tick=False):
        assert run_once_per_interval("test.job", runs.append, 1) is None
        assert run_once_per_interval("test.job", runs.append, 2) is None
    with time_machine.travel(START + timedelta(seconds=59), tick=False):
        run_once_per_interval("test.job", runs.append, 3)
    with time_machine.travel(START + timedelta(seconds=61), tick=False):
        run_once_per_interval("test.job", runs.append, 4)

    assert runs == [1, 4]
    lock = JobLock.objects.get(name="test.job")
    assert (lock.runs, lock.skipped) == (2, 2)


def test_a_run_still_going_keeps_the_next_interval_from_starting_another():
    _schedule("test.job", 60)
    inner = []

    def slow_job():
        # The next interval begins while this run still holds the job.
        with time_machine.travel(START + timedelta(seconds=90), tick=False):
            inner.append(run_once_per_interval("test.job", lambda: "second"))
        return "first"

    with time_machine.travel(START, tick=False):
        assert run_once_per_interval("test.job", slow_job) == "first"
    assert inner == [None]


def test_a_crashed_run_s_hold_runs_out(settings):
    _schedule("test.job", 60)
    with time_machine.travel(START, tick=False), pytest.raises(RuntimeError):
        run_once_per_interval("test.job", _crash)
    # The hold was released by the crash itself; a killed process leaves it until it expires.
    JobLock.objects.filter(name="test.job").update(
        locked_until=START + timedelta(seconds=settings.OPERATION_LEASE_SECONDS), holder="dead")
    later = START + timedelta(seconds=60)
    with time_machine.travel(later, tick=False):
        assert run_once_per_interval("test.job", lambda: "ran") is None
    with time_machine.travel(START + timedelta(seconds=settings.OPERATION_LEASE_SECONDS + 1),
                             tick=False):
        assert run_once_per_interval("test.job", lambda: "ran") == "ran"


def _crash():
    raise RuntimeError("boom")
