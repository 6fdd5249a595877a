"""The periodic jobs: probing the fleet every two minutes (then failing over what is due) and
rolling samples up every hour; a run that overlaps the previous one is skipped."""

import pytest

from apps.monitoring import tasks
from apps.monitoring.models import Sample, ServerHealth
from apps.operations.models import JobLock
from derpmgr.schedules import DEFAULT_SCHEDULES

pytestmark = pytest.mark.django_db


def test_both_jobs_are_scheduled_by_default():
    every = {s["task"]: s["every_seconds"] for s in DEFAULT_SCHEDULES.values()}
    assert every["monitoring.probe_fleet"] == 120
    assert every["monitoring.roll_up"] == 3600


def test_probing_the_fleet_runs_once_per_interval(make_server, fake_probes):
    server = make_server("sh-1")

    first = tasks.probe_fleet()
    again = tasks.probe_fleet()  # the same two minutes: another beat, or a slow run overlapping

    assert first == {"servers": 1, "relays": 0, "unhealthy": [], "healthy": [], "failovers": []}
    assert again is None
    assert ServerHealth.objects.get(server=server).successes == 1
    assert Sample.objects.filter(server=server).exists()
    assert JobLock.objects.get(name="monitoring.probe_fleet").skipped == 1


def test_the_roll_up_job_reports_what_it_did(make_server):
    assert tasks.roll_up() == {"rolled_up": 0, "pruned": 0, "expired_rollups": 0}
