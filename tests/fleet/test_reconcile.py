"""Reconcile makes a real server's containers match the database, and says what it changed."""

import pytest

from apps.containers.models import DerpInstance, InstanceStatus
from apps.containers.services import provision_rental, reconcile_server
from tests.fleet.support import renter

pytestmark = pytest.mark.django_db(transaction=True)


def relays(fleet, server, count):
    found = []
    for _ in range(count):
        user = renter()
        provision_rental(user_id=user.pk, servers=1)
        found.append(DerpInstance.objects.get(user=user))
    assert all(fleet.container(i).status == "running" for i in found)
    return found


def test_reconcile_repairs_every_kind_of_drift(fleet):
    server = fleet.add_one()
    halted, unwanted, orphan, vanished = relays(fleet, server, 4)
    fleet.container(halted).stop(timeout=5)  # should run, does not
    DerpInstance.objects.filter(pk=unwanted.pk).update(status=InstanceStatus.STOPPED)  # runs, should not
    DerpInstance.objects.filter(pk=orphan.pk).update(status=InstanceStatus.REMOVED)  # nobody's
    fleet.container(vanished).remove(force=True)  # should run, is gone

    report = reconcile_server(server=server)

    assert not report.error
    assert report.started == [halted.container_name]
    assert report.stopped == [unwanted.container_name]
    assert report.removed_orphans == [orphan.container_name]
    assert report.recreated == [vanished.container_name]
    state = {c.name: c.status for c in fleet.containers(server)}
    assert state == {halted.container_name: "running", unwanted.container_name: "exited",
                     vanished.container_name: "running"}
    vanished.refresh_from_db()
    assert fleet.container(vanished).id == vanished.container_id


def test_reconcile_of_a_server_in_order_changes_nothing(fleet):
    server = fleet.add_one()
    relays(fleet, server, 2)

    report = reconcile_server(server=server)

    assert not report.changed and not report.error
