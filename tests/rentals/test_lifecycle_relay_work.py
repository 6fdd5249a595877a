"""The relays follow the rental even when servers do not answer: the transition stands, the work
stays pending (and ops see why) until it is done, and the lifecycle job sends it again if the
operation gave up. A rental short of relays is tracked and set up once capacity appears."""

from datetime import timedelta

import pytest

from apps.accounts.models import RentalState
from apps.containers import services as containers
from apps.containers.models import InstanceStatus
from apps.operations.models import Operation, OperationState
from apps.rentals import services
from apps.rentals.models import Rental
from tests.containers.conftest import make_server
from tests.rentals.conftest import relays, rental


def finish(operation_id, at, run_operations, *, limit: int = 30) -> Operation:
    """Run the operation's attempts, moving the clock past each retry's wait, until it ends."""
    for _ in range(limit):
        run_operations()
        operation = Operation.objects.get(pk=operation_id)
        if operation.finished:
            return operation
        at(operation.not_before, plus=timedelta(seconds=1))
    raise AssertionError(f"operation {operation_id} still {operation.state}")


def test_a_server_down_during_suspension_leaves_the_work_pending_until_done(
        renting, admin_user, fake_engine, at, run_operations, settings):
    down = relays(renting)[0]
    fake_engine.down.add(down.server_id)
    at(renting.rental_expiry)

    services.advance_due()
    run_operations()

    renting.refresh_from_db()
    assert renting.rental_state == RentalState.SUSPENDED  # the transition stands
    assert [r.status for r in relays(renting)] == [InstanceStatus.RUNNING, InstanceStatus.STOPPED,
                                                   InstanceStatus.STOPPED]
    pending = rental(renting)
    assert not pending.relays_settled and down.server.name in pending.relays_note
    operation = Operation.objects.filter(customer_id=renting.pk).latest("pk")
    assert operation.state == OperationState.QUEUED and operation.attempts == 1  # to be retried
    assert Rental.objects.filter(relays_settled=False).get() == pending  # ops see it pending

    assert finish(operation.pk, at, run_operations).state == OperationState.FAILED  # gave up
    assert not rental(renting).relays_settled  # …but the intent stays

    assert services.send_pending_relay_work() == 1  # sent again, while the server is still down
    assert services.send_pending_relay_work() == 0  # (once: it is under way now)
    fake_engine.down.clear()
    at(Operation.objects.latest("pk").not_before)
    run_operations()

    assert {r.status for r in relays(renting)} == {InstanceStatus.STOPPED}
    assert not fake_engine.on(down.server)[down.container_name]["running"]
    assert rental(renting).relays_settled and rental(renting).relays_note == ""
    assert services.send_pending_relay_work() == 0


def test_a_renewal_while_a_stopped_relay_cannot_be_started_keeps_trying(
        renting, superadmin, fake_engine, at, sweep, run_operations):
    at(renting.rental_expiry)
    sweep()
    down = relays(renting)[0]
    fake_engine.down.add(down.server_id)

    services.extend(user=renting, days=30, actor=superadmin, via="test")
    run_operations()

    assert not rental(renting).relays_settled
    operation = Operation.objects.latest("pk")
    assert operation.state == OperationState.QUEUED  # not "done" with a relay still stopped
    fake_engine.down.clear()
    assert finish(operation.pk, at, run_operations).state == OperationState.DONE
    assert {r.status for r in relays(renting)} == {InstanceStatus.RUNNING}
    assert rental(renting).relays_settled and rental(renting).relays_missing == 0


def test_a_rental_without_capacity_is_short_until_a_server_is_added(customer, superadmin,
                                                                     fake_engine, run_operations):
    services.extend(user=customer, days=30, actor=superadmin, via="test")
    run_operations()

    short = rental(customer)
    assert short.relays_missing == 3 and short.relays_note
    assert list(Rental.objects.short_of_relays()) == [short]
    operation = Operation.objects.get(customer_id=customer.pk)
    assert (operation.state, operation.error_code) == (OperationState.FAILED, "provision_incomplete")
    assert services.send_pending_relay_work() == 0  # nothing to gain without a server
    assert services.recover_shortfalls() == 0

    for name in "xyz":
        make_server(name=f"new-{name}")
    assert services.recover_shortfalls() == 1
    run_operations()

    assert len(relays(customer, InstanceStatus.RUNNING)) == 3
    assert rental(customer).relays_missing == 0 and rental(customer).relays_note == ""
    assert not Rental.objects.short_of_relays().exists()
    assert services.recover_shortfalls() == 0


def test_a_relay_lost_outside_the_rentals_work_is_counted_and_replaced(renting, admin_user,
                                                                       run_operations):
    lost = relays(renting)[0]
    containers.remove_instance(actor=admin_user, instance=lost)

    assert rental(renting).relays_missing == 1
    assert list(Rental.objects.short_of_relays()) == [rental(renting)]
    assert services.recover_shortfalls() == 1
    run_operations()
    assert len(relays(renting, InstanceStatus.RUNNING)) == 3 and lost not in relays(renting, "running")
    assert rental(renting).relays_missing == 0


def test_a_relay_started_against_a_suspension_is_stopped_again(renting, admin_user, at, sweep):
    at(renting.rental_expiry)
    sweep()
    assert rental(renting).relays_settled
    stray = relays(renting)[0]

    containers.start_stopped_instance(actor=admin_user, instance=stray)  # by hand, say

    assert not rental(renting).relays_settled
    sweep()
    assert {r.status for r in relays(renting)} == {InstanceStatus.STOPPED}
    assert rental(renting).relays_settled


@pytest.mark.parametrize("active", [False, True])
def test_deactivating_the_account_stops_the_relays_and_reactivating_starts_them(
        renting, run_operations, active):
    services.set_account_active(actor=None, user=renting, active=False)
    run_operations()
    assert {r.status for r in relays(renting)} == {InstanceStatus.STOPPED}
    if active:
        services.set_account_active(actor=None, user=renting, active=True)
        run_operations()
        assert {r.status for r in relays(renting)} == {InstanceStatus.RUNNING}


def test_a_bigger_plan_bought_while_the_set_up_is_queued_gets_all_its_relays(
        customer, superadmin, servers, run_operations):
    make_server(name="fourth")
    services.extend(user=customer, days=30, actor=superadmin, via="test", servers=3)
    services.extend(user=customer, days=30, actor=superadmin, via="test", servers=4)

    assert Operation.objects.filter(customer_id=customer.pk).count() == 1  # one job per customer
    run_operations()

    assert len(relays(customer, InstanceStatus.RUNNING)) == 4
    assert rental(customer).relays_missing == 0


def test_a_stopped_relay_on_an_unhealthy_server_waits_for_it_to_come_back(
        renting, superadmin, fake_engine, at, sweep, run_operations):
    from apps.servers.models import Server, ServerStatus

    at(renting.rental_expiry)
    sweep()
    sick = relays(renting)[0]
    fake_engine.down.add(sick.server_id)
    services.extend(user=renting, days=30, actor=superadmin, via="test")
    finish(Operation.objects.latest("pk").pk, at, run_operations)  # gave up: still stopped
    Server.objects.filter(pk=sick.server_id).update(status=ServerStatus.UNHEALTHY)

    assert services.send_pending_relay_work() == 0  # nothing to gain while it is unhealthy
    assert rental(renting).relays_missing == 1 and rental(renting).relays_settled
    assert services.recover_shortfalls() == 0

    fake_engine.down.clear()
    Server.objects.filter(pk=sick.server_id).update(status=ServerStatus.HEALTHY)
    assert services.recover_shortfalls() == 1  # back: the same relay starts again
    run_operations()
    assert [r.pk for r in relays(renting, InstanceStatus.RUNNING)] == [r.pk for r in relays(renting)]
    assert rental(renting).relays_missing == 0
