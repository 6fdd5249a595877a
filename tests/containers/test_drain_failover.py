"""Draining moves every relay off a server; failover drains the servers marked unhealthy."""

from apps.audit.models import AuditEvent
from apps.containers import services
from apps.containers.models import DerpInstance, InstanceStatus
from apps.servers.models import ServerStatus
from tests.containers.conftest import make_server, relay
from tests.factories import UserFactory


def test_drain_moves_every_relay_and_takes_the_server_out_of_placement(fake_engine, admin_user):
    old = make_server(name="old")
    new = make_server(name="new")
    relays = [relay(UserFactory(), old, engine=fake_engine) for _ in range(2)]
    relays.append(relay(UserFactory(), old, status=InstanceStatus.STOPPED, engine=fake_engine))

    report = services.drain_server(actor=admin_user, server=old)

    assert len(report.moved) == 3 and report.failed == {}
    old.refresh_from_db()
    assert old.status == ServerStatus.DRAINING
    assert not DerpInstance.objects.live().filter(server=old).exists()
    assert DerpInstance.objects.live().filter(server=new).count() == 3
    assert fake_engine.on(old) == {}
    assert AuditEvent.objects.filter(action="servers.draining", target_id=str(old.pk)).exists()


def test_a_relay_that_cannot_move_stays_and_is_reported(fake_engine, admin_user):
    old = make_server(name="old")
    make_server(name="tiny", max_containers=1)
    first = relay(UserFactory(), old, engine=fake_engine)
    second = relay(UserFactory(), old, engine=fake_engine)

    report = services.drain_server(actor=admin_user, server=old)

    assert len(report.moved) == 1 and len(report.failed) == 1
    stuck = next(iter(report.failed))
    assert stuck in (first.pk, second.pk)
    assert DerpInstance.objects.get(pk=stuck).status == InstanceStatus.RUNNING


def test_failover_moves_the_relays_of_unhealthy_servers_only(fake_engine, admin_user):
    sick = make_server(name="sick", status=ServerStatus.UNHEALTHY)
    fine = make_server(name="fine")
    make_server(name="spare")
    on_sick = relay(UserFactory(), sick, engine=fake_engine)
    on_fine = relay(UserFactory(), fine, engine=fake_engine)
    fake_engine.down.add(sick.pk)  # it is unhealthy for a reason

    reports = services.failover(actor=admin_user)

    assert list(reports) == [sick.pk] and len(reports[sick.pk].moved) == 1
    on_sick.refresh_from_db()
    assert on_sick.status == InstanceStatus.REMOVING  # its container goes once the server answers
    moved = DerpInstance.objects.get(replaces=on_sick)
    assert moved.status == InstanceStatus.RUNNING and moved.server.name == "spare"
    on_fine.refresh_from_db()
    assert on_fine.status == InstanceStatus.RUNNING and on_fine.server == fine


def test_failover_with_nothing_unhealthy_does_nothing(fake_engine, admin_user):
    relay(UserFactory(), make_server(), engine=fake_engine)
    assert services.failover(actor=admin_user) == {}
    assert fake_engine.calls == []
