"""Two beat processes (two installations started by mistake, a failover beat) send every periodic
job twice; each job still runs once per interval. Real beat and worker processes."""

import time

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.operations.models import JobLock
from tests import workers

pytestmark = pytest.mark.django_db(transaction=True)

INTERVAL = 3  # seconds: each beat sends each job once in it, and the worker keeps up
JOBS = ["distribution.expire_unused_codes", "acl.reissue_expiring"]


@pytest.fixture
def broker(tmp_path):
    with workers.private_broker(tmp_path) as broker:
        yield broker


def test_two_beats_for_three_intervals_run_each_job_once_per_interval(broker, tmp_path):
    every, _ = IntervalSchedule.objects.get_or_create(every=INTERVAL, period=IntervalSchedule.SECONDS)
    for task in JOBS:
        PeriodicTask.objects.create(name=task, task=task, interval=every, queue=broker.queue)
    processes = []
    started = time.monotonic()
    try:
        processes.append(workers.start_worker(broker, tmp_path / "worker.log", concurrency=2))
        processes.append(workers.start_beat(broker, tmp_path / "beat-1.log"))
        processes.append(workers.start_beat(broker, tmp_path / "beat-2.log"))

        def three_intervals_each():
            locks = list(JobLock.objects.filter(name__in=JOBS))
            return len(locks) == len(JOBS) and all(lock.runs >= 3 for lock in locks)

        workers.wait_until(three_intervals_each, processes=processes, timeout=60,
                           what="three runs of every job")
        # Let both beats' last sends of this interval arrive before counting.
        interval_now = int(time.time()) // INTERVAL
        workers.wait_until(lambda: int(time.time()) // INTERVAL > interval_now,
                           processes=processes, timeout=10, what="the next interval")
    finally:
        for process in processes:
            process.stop()
    elapsed_intervals = (time.monotonic() - started) / INTERVAL

    for lock in JobLock.objects.filter(name__in=JOBS):
        # Once per interval at most (without the lock: about twice), and sends of the second
        # beat were there and refused.
        assert lock.runs <= elapsed_intervals + 1, (lock.name, lock.runs, elapsed_intervals)
        assert lock.skipped >= 1, (lock.name, lock.runs, lock.skipped)
