"""A real server over its monthly quota: its relay containers are stopped (not removed: the
engine still lists them, ports kept) and do not answer; on the reset day they run and answer
again. Time is passed as now=; the operations run as a worker would run them."""

import datetime

import pytest
from django.utils import timezone

from apps.containers.models import DerpInstance, InstanceStatus
from apps.containers.services import provision_rental
from apps.operations import services as operations
from apps.servers.models import Server, ServerStatus
from apps.traffic import quota
from tests.fleet import infra
from tests.fleet.support import relay_answers, renter

pytestmark = pytest.mark.django_db(transaction=True)

GB = 1024**3
NOW = timezone.make_aware(datetime.datetime(2026, 11, 20, 12))
RESET_DAY = timezone.make_aware(datetime.datetime(2026, 12, 5, 0, 1))


def engine_status(fleet, instance) -> str:
    return fleet.container(instance).status


def test_over_quota_stops_the_relays_and_the_reset_day_starts_them_again(fleet):
    server = fleet.add_one()
    Server.objects.filter(pk=server.pk).update(monthly_quota_bytes=10 * GB, quota_reset_day=5)
    relays = []
    for _customer in range(2):
        user = renter()
        provision_rental(user_id=user.pk, servers=1)
        relays.append(DerpInstance.objects.get(user=user))
    server.refresh_from_db()
    for instance in relays:
        infra.wait_for(lambda i=instance: relay_answers(server, i.port), timeout=30,
                       what="the relay to answer")

    Server.objects.filter(pk=server.pk).update(traffic_month_bytes=10 * GB)
    quota.after_sampling(server_ids=[server.pk], now=NOW)
    operations.run_due()

    for instance in relays:
        infra.wait_for(lambda i=instance: engine_status(fleet, i) == "exited", timeout=30,
                       what="the relay container to stop")
        assert not relay_answers(server, instance.port)
        assert DerpInstance.objects.get(pk=instance.pk).status == InstanceStatus.STOPPED
    assert Server.objects.get(pk=server.pk).status == ServerStatus.OVER_QUOTA

    Server.objects.filter(pk=server.pk).update(  # what the sampling round does on the reset day
        traffic_month_bytes=0, traffic_period_start=RESET_DAY - datetime.timedelta(minutes=1))
    quota.after_sampling(server_ids=[server.pk], now=RESET_DAY)
    operations.run_due()

    for instance in relays:
        infra.wait_for(lambda i=instance: engine_status(fleet, i) == "running", timeout=30,
                       what="the relay container to run")
        infra.wait_for(lambda i=instance: relay_answers(server, i.port), timeout=30,
                       what="the relay to answer")
        assert DerpInstance.objects.get(pk=instance.pk).status == InstanceStatus.RUNNING
    assert Server.objects.get(pk=server.pk).status == ServerStatus.HEALTHY
