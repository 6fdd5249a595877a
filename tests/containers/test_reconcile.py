"""Reconcile makes a server's containers match the database and reports what it changed."""

import pytest

from apps.audit.models import AuditEvent
from apps.containers import services
from apps.containers.engine import ContainerState
from apps.containers.models import InstanceStatus
from tests.containers.conftest import make_server, relay
from tests.factories import UserFactory


@pytest.fixture
def server(db):
    return make_server()


def test_an_orphan_container_is_removed(renter, server, fake_engine):
    gone = relay(renter, server, engine=fake_engine)
    gone.status = InstanceStatus.REMOVED
    gone.save(update_fields=["status"])

    report = services.reconcile_server(server=server)

    assert report.removed_orphans == [gone.container_name]
    assert fake_engine.on(server) == {}


def test_a_container_without_an_instance_label_is_an_orphan(renter, server, fake_engine,
                                                             monkeypatch):
    stray = [ContainerState(name="derp-stray-1", id="x1", running=True, instance_id=None),
             ContainerState(name="derp-stray-2", id="x2", running=False, instance_id=None)]
    monkeypatch.setattr(fake_engine, "list_relays", lambda s: stray)
    report = services.reconcile_server(server=server)
    assert sorted(report.removed_orphans) == ["derp-stray-1", "derp-stray-2"]


def test_a_stopped_container_of_a_running_relay_is_started(renter, server, fake_engine):
    instance = relay(renter, server, engine=fake_engine)
    fake_engine.containers[(server.pk, instance.container_name)]["running"] = False

    report = services.reconcile_server(server=server)

    assert report.started == [instance.container_name]
    assert fake_engine.on(server)[instance.container_name]["running"]


def test_a_running_container_of_a_stopped_relay_is_stopped(renter, server, fake_engine):
    instance = relay(renter, server, status=InstanceStatus.STOPPED, engine=fake_engine)
    fake_engine.containers[(server.pk, instance.container_name)]["running"] = True

    report = services.reconcile_server(server=server)

    assert report.stopped == [instance.container_name]
    assert not fake_engine.on(server)[instance.container_name]["running"]


def test_a_missing_container_of_a_running_relay_is_made_again(renter, server, fake_engine):
    instance = relay(renter, server)  # no container

    report = services.reconcile_server(server=server)

    assert report.recreated == [instance.container_name]
    instance.refresh_from_db()
    assert fake_engine.on(server)[instance.container_name]["id"] == instance.container_id


def test_a_removal_finishes_once_the_container_is_gone(renter, server, fake_engine):
    instance = relay(renter, server, status=InstanceStatus.REMOVING)
    report = services.reconcile_server(server=server)
    assert report.finished_removals == [instance.pk]
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.REMOVED


def test_a_pending_relays_container_is_left_to_the_start_in_progress(renter, server, fake_engine):
    instance = relay(renter, server, status=InstanceStatus.PENDING, engine=fake_engine)
    report = services.reconcile_server(server=server)
    assert not report.changed
    assert instance.container_name in fake_engine.on(server)


def test_nothing_to_do_changes_nothing_and_is_not_audited(renter, server, fake_engine):
    relay(renter, server, engine=fake_engine)
    relay(UserFactory(), server, status=InstanceStatus.STOPPED, engine=fake_engine)

    report = services.reconcile_server(server=server)

    assert not report.changed and report.error == ""
    assert [c[0] for c in fake_engine.calls] == ["list_relays"]
    assert not AuditEvent.objects.filter(action="containers.reconciled").exists()


def test_changes_are_audited_with_the_report(renter, server, fake_engine, admin_user):
    relay(renter, server)
    services.reconcile_server(server=server, actor=admin_user)
    event = AuditEvent.objects.get(action="containers.reconciled")
    assert len(event.details["recreated"]) == 1


def test_a_server_that_does_not_answer_is_reported_and_nothing_changes(renter, server, fake_engine):
    removing = relay(renter, server, status=InstanceStatus.REMOVING)
    running = relay(UserFactory(), server)  # its container is missing
    fake_engine.down.add(server.pk)

    report = services.reconcile_server(server=server)

    assert "unreachable" in report.error and not report.changed
    removing.refresh_from_db()
    running.refresh_from_db()
    assert (removing.status, running.status) == (InstanceStatus.REMOVING, InstanceStatus.RUNNING)
    assert fake_engine.containers == {}
