"""Relay fixtures: servers (rows only; the fake engine stands in for their container engines),
a customer with an active rental, and relays in a given state."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import RentalState
from apps.containers.engine import container_name
from apps.containers.models import DerpInstance, InstanceStatus
from apps.servers.models import Server

_numbers = itertools.count(1)


def make_server(**fields) -> Server:
    """A healthy server row with a key and a pinned host key (nothing is dialled)."""
    n = next(_numbers)
    fields.setdefault("name", f"srv-{n}")
    fields.setdefault("public_ip", f"198.51.100.{n % 250 + 1}")
    fields.setdefault("ssh_host", fields["public_ip"])
    fields.setdefault("location", f"City {n}")
    fields.setdefault("port_range_start", 30000)
    fields.setdefault("port_range_end", 30099)
    server = Server(ssh_host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFake", **fields)
    server.set_ssh_secret("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n")
    server.save()
    return server


@pytest.fixture
def server_factory(db):
    return make_server


@pytest.fixture
def three_servers(db):
    return [make_server(name=f"node-{c}") for c in "abc"]


def give_rental(user, *, state: str = RentalState.ACTIVE):
    user.rental_state = state
    user.rental_expiry = timezone.now() + timedelta(days=30)
    user.save(update_fields=["rental_state", "rental_expiry"])
    return user


@pytest.fixture
def renter(customer):
    """The customer, with an active rental."""
    return give_rental(customer)


def relay(user, server, *, status: str = InstanceStatus.RUNNING, engine=None, port=None) -> DerpInstance:
    """A relay row in `status`; with `engine`, its container exists too (running or not)."""
    instance = DerpInstance.objects.create(user=user, server=server, status=status,
                                           port=port or _next_port(server))
    instance.container_name = container_name(instance)
    instance.save(update_fields=["container_name"])
    if engine is not None:
        engine.run_relay(instance)
        engine.containers[(server.pk, instance.container_name)]["running"] = (
            status in (InstanceStatus.RUNNING, InstanceStatus.MIGRATING))
        engine.calls.clear()
    return instance


def _next_port(server) -> int:
    used = set(DerpInstance.objects.filter(server=server).values_list("port", flat=True))
    return next(p for p in range(server.port_range_start, server.port_range_end + 1) if p not in used)


def statuses(*instances) -> list[str]:
    return [DerpInstance.objects.get(pk=i.pk).status for i in instances]


def operations(engine) -> list[tuple[str, int]]:
    """What the engine was asked, without container names: [(operation, server id), ...]."""
    return [(operation, server_id) for operation, server_id, _name in engine.calls]


@pytest.fixture
def fleet(renter, fake_engine):
    """Four servers; the renter has a running relay on the first and a stopped one on the
    second, both with containers."""
    servers = [make_server(name=f"fleet-{c}") for c in "abcd"]
    running = relay(renter, servers[0], engine=fake_engine)
    stopped = relay(renter, servers[1], status=InstanceStatus.STOPPED, engine=fake_engine)
    return {"servers": servers, "running": running, "stopped": stopped, "renter": renter}
