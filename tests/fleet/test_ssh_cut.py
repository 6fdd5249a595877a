"""SSH cut between container create and start: the relay fails with the reason (after the
retries), and once the server is back reconcile leaves no orphan container."""

import docker
import pytest

from apps.audit.models import AuditEvent
from apps.containers.models import DerpInstance, InstanceStatus
from apps.containers.services import (
    provision_rental,
    reconcile_server,
    start_instance,
    user_message,
)
from tests.fleet.support import renter

pytestmark = pytest.mark.django_db(transaction=True)


def cut_ssh_after_create(monkeypatch, sshd):
    real_create = docker.APIClient.create_container

    def create_then_cut(self, *args, **kwargs):
        created = real_create(self, *args, **kwargs)
        sshd.stop()  # the daemon and every session it serves
        return created

    monkeypatch.setattr(docker.APIClient, "create_container", create_then_cut)


def test_an_ssh_cut_mid_provision_fails_the_relay_and_reconcile_leaves_no_orphan(fleet, monkeypatch):
    server = fleet.add_one()
    sshd = fleet.sshd(server)
    user = renter()
    cut_ssh_after_create(monkeypatch, sshd)

    report = provision_rental(user_id=user.pk, servers=1)
    monkeypatch.undo()

    instance = DerpInstance.objects.get(user=user)
    assert report.failed == [instance.pk]
    assert instance.status == InstanceStatus.PENDING  # transient: the task retries
    assert f"{sshd.address}:{sshd.port}" in instance.last_error

    assert not start_instance(instance_id=instance.pk, final_attempt=True)  # the last retry

    instance.refresh_from_db()
    assert instance.status == InstanceStatus.ERROR
    assert f"{sshd.address}:{sshd.port} unreachable" in instance.last_error
    assert user_message(instance)
    assert AuditEvent.objects.filter(action="containers.provision_failed",
                                     target_id=str(instance.pk)).exists()
    assert [c.name for c in fleet.containers(server)] == [instance.container_name]  # left behind

    sshd.start()
    reconciled = reconcile_server(server=server)

    assert reconciled.removed_orphans == [instance.container_name]
    assert fleet.containers(server) == []
