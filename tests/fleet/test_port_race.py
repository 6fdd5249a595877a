"""200 relays allocated at once on one server never share a port (PostgreSQL: real row locks
and the partial unique constraint)."""

import threading

import pytest
from django.db import connection

from apps.containers.models import DerpInstance
from apps.containers.services import create_instance
from apps.servers.models import Server
from tests.factories import UserFactory

ALLOCATIONS = 200
# PostgreSQL allows 100 connections by default, shared with whatever else runs: the 200 calls
# start together, at most this many hold a connection at the same moment.
CONNECTIONS = 40


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_200_concurrent_allocations_on_one_server_give_200_distinct_ports(fake_engine):
    server = Server(name="race", public_ip="192.0.2.10", ssh_host="192.0.2.10",
                    ssh_host_key="ssh-ed25519 AAAA", port_range_start=40000,
                    port_range_end=40249, max_containers=ALLOCATIONS + 50)
    server.set_ssh_secret("unused")
    server.save()
    users = [UserFactory() for _ in range(ALLOCATIONS)]
    start = threading.Barrier(ALLOCATIONS)
    connections = threading.BoundedSemaphore(CONNECTIONS)
    errors: list[BaseException] = []

    def allocate(user):
        try:
            start.wait(timeout=60)
            with connections:
                try:
                    create_instance(user=user, server=server, host_used=set())
                finally:
                    connection.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=allocate, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads), "an allocation hung"
    assert errors == []
    ports = list(DerpInstance.objects.filter(server=server).values_list("port", flat=True))
    assert len(ports) == ALLOCATIONS
    assert len(set(ports)) == ALLOCATIONS
    assert min(ports) == 40000 and max(ports) == 40000 + ALLOCATIONS - 1
