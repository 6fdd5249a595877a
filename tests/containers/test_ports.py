"""Ports: the lowest of the server's range that the database and the host both see free."""

import pytest

from apps.containers import services
from apps.containers.models import InstanceStatus
from tests.containers.conftest import make_server, relay
from tests.factories import UserFactory


def test_the_first_relay_gets_the_first_port_of_the_range(renter, fake_engine):
    server = make_server(port_range_start=41000, port_range_end=41010)
    assert services.create_instance(user=renter, server=server).port == 41000


def test_ports_held_by_another_process_on_the_host_are_skipped(renter, fake_engine):
    server = make_server(port_range_start=41000, port_range_end=41010)
    fake_engine.host_ports[server.pk] = {41000, 41001, 41003}
    assert services.create_instance(user=renter, server=server).port == 41002


def test_ports_of_live_relays_in_the_database_are_skipped(renter, fake_engine):
    server = make_server(port_range_start=41000, port_range_end=41010)
    relay(UserFactory(), server, port=41000)
    relay(UserFactory(), server, port=41001, status=InstanceStatus.STOPPED)
    assert services.create_instance(user=renter, server=server).port == 41002


def test_a_removed_relays_port_is_free_again(renter, fake_engine):
    server = make_server(port_range_start=41000, port_range_end=41010)
    relay(UserFactory(), server, port=41000, status=InstanceStatus.REMOVED)
    assert services.create_instance(user=renter, server=server).port == 41000


def test_an_exhausted_range_is_no_capacity(renter, fake_engine):
    server = make_server(port_range_start=41000, port_range_end=41001)
    relay(UserFactory(), server, port=41000)
    fake_engine.host_ports[server.pk] = {41001}
    with pytest.raises(services.NoCapacity):
        services.create_instance(user=renter, server=server)


def test_a_full_server_is_no_capacity(renter, fake_engine):
    server = make_server(max_containers=1)
    relay(UserFactory(), server)
    with pytest.raises(services.NoCapacity) as refused:
        services.create_instance(user=renter, server=server)
    assert refused.value.status == 409


def test_a_second_relay_for_the_same_user_and_server_is_a_conflict(renter, fake_engine):
    server = make_server()
    relay(renter, server)
    with pytest.raises(services.Conflict) as refused:
        services.create_instance(user=renter, server=server)
    assert refused.value.code == "already_placed"
