"""Moving relays between real servers: make-before-break, and a server drained of them all."""

import pytest

from apps.containers.models import DerpInstance, InstanceStatus
from apps.containers.services import drain_server, migrate_instance, provision_rental
from apps.servers.drivers import RemoteError
from apps.servers.models import ServerStatus
from tests.fleet.support import renter

pytestmark = pytest.mark.django_db(transaction=True)


def relay_on(server):
    user = renter()
    provision_rental(user_id=user.pk, servers=1, pinned_ids=[server.pk])
    instance = DerpInstance.objects.select_related("server", "user").get(user=user)
    assert instance.server_id == server.pk and instance.status == InstanceStatus.RUNNING
    return instance


def test_migration_starts_the_relay_on_the_target_and_removes_the_old_container(fleet):
    source, target = fleet.add(2)
    old = relay_on(source)

    new = migrate_instance(actor=fleet.actor, instance=old, target=target)

    assert new.server_id == target.pk and new.status == InstanceStatus.RUNNING
    assert new.replaces_id == old.pk
    old.refresh_from_db()
    assert old.status == InstanceStatus.REMOVED
    assert fleet.containers(source) == []
    [container] = fleet.containers(target)
    assert container.name == new.container_name and container.status == "running"


def test_a_target_that_cannot_be_reached_leaves_the_source_running_untouched(fleet):
    source, target = fleet.add(2)
    old = relay_on(source)
    fleet.sshd(target).stop()

    with pytest.raises(RemoteError) as failed:
        migrate_instance(actor=fleet.actor, instance=old, target=target)

    assert failed.value.transient  # the operation moving it tries again later
    old.refresh_from_db()
    assert old.status == InstanceStatus.RUNNING
    [container] = fleet.containers(source)
    assert container.id == old.container_id and container.status == "running"


def test_draining_a_server_moves_every_relay_off_it(fleet):
    drained, *others = fleet.add(3)
    relays = [relay_on(drained), relay_on(drained)]

    report = drain_server(actor=fleet.actor, server=drained)

    assert len(report.moved) == 2 and not report.failed
    drained.refresh_from_db()
    assert drained.status == ServerStatus.DRAINING
    assert fleet.containers(drained) == []
    for relay in relays:
        moved = DerpInstance.objects.get(user=relay.user, status=InstanceStatus.RUNNING)
        assert moved.server_id in {s.pk for s in others}
        assert fleet.container(moved).status == "running"
