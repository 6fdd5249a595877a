"""A rental over time on real servers (sshd + podman): at its end the relay containers are
really stopped with their ports kept, a renewal starts the same containers again, and
deregistration removes them and releases the ports; an SSH outage during the suspension leaves
the work pending, and a later run finishes it."""

from datetime import timedelta

import docker
import pytest
from django.conf import settings

from apps.accounts.models import RentalState
from apps.containers.models import DerpInstance, InstanceStatus
from apps.operations.models import Operation, OperationState
from apps.rentals import services
from apps.rentals.models import Rental
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # relays start in threads


@pytest.fixture
def at(time_machine):
    """Move the clock there, and let it run on from there (SSH and Docker keep their timeouts)."""
    def move(when):
        time_machine.move_to(when + timedelta(minutes=1), tick=True)
    return move


@pytest.fixture
def renting(fleet, superadmin, run_operations):
    """A customer with a 30-day rental and a running relay on each of two real servers."""
    fleet.add(2)
    customer = UserFactory(username="tenant")
    services.extend(user=customer, days=30, actor=superadmin, via="test")
    run_operations()
    customer.refresh_from_db()
    assert DerpInstance.objects.filter(user=customer, status=InstanceStatus.RUNNING).count() == 2
    return customer


def relays(user) -> list[DerpInstance]:
    return list(DerpInstance.objects.filter(user=user).select_related("server").order_by("pk"))


def running(fleet, instance) -> bool:
    return fleet.container(instance).attrs["State"]["Running"]


def test_suspension_stops_renewal_restarts_deregistration_removes(fleet, renting, superadmin, at,
                                                                 run_operations):
    before = {r.pk: (r.port, fleet.container(r).id) for r in relays(renting)}

    at(renting.rental_expiry)
    assert services.advance_due() == 1
    run_operations()

    renting.refresh_from_db()
    assert renting.rental_state == RentalState.SUSPENDED
    for relay in relays(renting):
        assert relay.status == InstanceStatus.STOPPED and relay.is_live  # the port stays theirs
        assert not running(fleet, relay)  # the engine says so, not only the row
    assert Rental.objects.get(pk=renting.pk).relays_settled

    services.extend(user=renting, days=30, actor=superadmin, via="test")
    run_operations()

    for relay in relays(renting):
        assert relay.status == InstanceStatus.RUNNING and running(fleet, relay)
    assert {r.pk: (r.port, fleet.container(r).id) for r in relays(renting)} == before  # the same

    renting.refresh_from_db()
    end = renting.rental_expiry
    at(end)
    services.advance_due()
    run_operations()
    at(end + timedelta(days=settings.RENTAL_DEREGISTER_AFTER_DAYS))
    assert services.advance_due() == 1
    run_operations()

    renting.refresh_from_db()
    assert renting.rental_state == RentalState.DEREGISTERED
    for relay in relays(renting):
        assert relay.status == InstanceStatus.REMOVED and not relay.is_live  # the port released
        with pytest.raises(docker.errors.NotFound):
            fleet.container(relay)
    assert fleet.containers() == []


def test_an_ssh_outage_during_suspension_leaves_the_work_pending_until_a_later_run(
        fleet, renting, at, run_operations):
    cut, reachable = relays(renting)
    sshd = fleet.sshd(cut.server)
    sshd.stop()

    at(renting.rental_expiry)
    services.advance_due()
    run_operations()

    renting.refresh_from_db()
    assert renting.rental_state == RentalState.SUSPENDED  # the transition stands
    rental = Rental.objects.get(pk=renting.pk)
    assert not rental.relays_settled and cut.server.name in rental.relays_note
    operation = Operation.objects.filter(customer_id=renting.pk).latest("pk")
    assert operation.state == OperationState.QUEUED  # to be retried
    assert DerpInstance.objects.get(pk=cut.pk).status == InstanceStatus.RUNNING
    assert DerpInstance.objects.get(pk=reachable.pk).status == InstanceStatus.STOPPED
    assert not running(fleet, reachable)
    assert running(fleet, cut)  # out of reach: still running on the server

    sshd.start()
    at(operation.not_before)
    run_operations()

    assert Operation.objects.get(pk=operation.pk).state == OperationState.DONE
    assert [r.status for r in relays(renting)] == [InstanceStatus.STOPPED] * 2
    assert not running(fleet, cut)
    rental.refresh_from_db()
    assert rental.relays_settled and rental.relays_note == ""
