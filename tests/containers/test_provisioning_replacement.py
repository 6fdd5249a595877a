"""A server that cannot take a customer's relay is replaced by the next best one, so the customer
still gets the plan's number of relays when the fleet has room."""

from apps.containers import services
from apps.containers.models import DerpInstance, InstanceStatus
from apps.servers.drivers import RemoteError

from .conftest import make_server


def test_an_unreachable_server_is_replaced_by_another(fake_engine, renter):
    servers = [make_server(name=f"node-{c}") for c in "abcd"]
    fake_engine.down.add(servers[0].pk)

    report = services.provision_rental(user_id=renter.pk, servers=3)

    used = set(DerpInstance.objects.filter(user=renter, status=InstanceStatus.RUNNING)
               .values_list("server_id", flat=True))
    assert report.missing == 0 and len(report.created) == 3
    assert used == {s.pk for s in servers[1:]}


def test_a_relay_rolled_back_on_one_server_is_placed_on_another(fake_engine, renter, monkeypatch):
    servers = [make_server(name=f"node-{c}") for c in "abcd"]
    run_relay = fake_engine.run_relay

    def image_missing_on_node_a(instance):
        if instance.server_id == servers[0].pk:
            raise RemoteError("image missing", transient=False, code="image_missing")
        return run_relay(instance)

    monkeypatch.setattr(fake_engine, "run_relay", image_missing_on_node_a)

    report = services.provision_rental(user_id=renter.pk, servers=3)

    assert len(report.rolled_back) == 1 and len(report.created) == 3 and report.missing == 0
    failed = DerpInstance.objects.get(pk=report.rolled_back[0])
    assert failed.status == InstanceStatus.ERROR
    running = DerpInstance.objects.filter(user=renter, status=InstanceStatus.RUNNING)
    assert failed.server_id == servers[0].pk
    assert set(running.values_list("server_id", flat=True)) == {s.pk for s in servers[1:]}


def test_without_a_spare_server_the_shortfall_is_reported(fake_engine, renter):
    servers = [make_server(name=f"node-{c}") for c in "abc"]
    fake_engine.down.add(servers[0].pk)

    report = services.provision_rental(user_id=renter.pk, servers=3)

    assert len(report.created) == 2 and report.missing == 1
