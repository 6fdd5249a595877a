"""Deleting a server: refused while relays live there; an empty one is cleaned off first."""

import os

import pytest

from apps.audit.models import AuditEvent
from apps.containers.engine import cert_dir
from apps.containers.models import DerpInstance, InstanceStatus
from apps.containers.services import provision_rental
from apps.operations.models import OperationState
from apps.servers import requests
from apps.servers.models import Server
from apps.servers.services import delete_server
from derpmgr.errors import Conflict
from tests.fleet.support import renter

pytestmark = pytest.mark.django_db(transaction=True)


def test_deleting_a_server_that_runs_relays_is_refused(fleet):
    server = fleet.add_one()
    user = renter()
    provision_rental(user_id=user.pk, servers=1)

    with pytest.raises(Conflict) as refused:
        delete_server(actor=fleet.actor, server=server)

    assert refused.value.code == "server_not_empty"
    assert Server.objects.filter(pk=server.pk).exists()
    [container] = fleet.containers(server)
    assert container.status == "running"
    assert os.path.isdir(cert_dir(server))


def test_deleting_an_empty_server_removes_its_containers_and_certificates(fleet):
    server = fleet.add_one()
    user = renter()
    provision_rental(user_id=user.pk, servers=1)
    # The relay is gone as far as the database knows, but its container stayed behind.
    DerpInstance.objects.filter(user=user).update(status=InstanceStatus.REMOVED)
    server_id, directory = server.pk, cert_dir(server)

    delete_server(actor=fleet.actor, server=server)

    assert not Server.objects.filter(pk=server_id).exists()
    assert fleet.containers() == []
    assert not os.path.exists(directory)
    assert AuditEvent.objects.filter(action="servers.deleted", target_id=str(server_id)).exists()


def test_the_delete_operation_reclaims_an_empty_server(fleet, run_operations):
    server = fleet.add_one()
    server_id, directory = server.pk, cert_dir(server)

    operation = requests.delete(actor=fleet.actor, server=server)
    assert os.path.isdir(directory)  # the request touches nothing remote
    run_operations()

    operation.refresh_from_db()
    assert operation.state == OperationState.DONE, operation.error
    assert not Server.objects.filter(pk=server_id).exists()
    assert not os.path.exists(directory)
