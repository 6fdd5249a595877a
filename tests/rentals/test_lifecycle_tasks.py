"""The periodic tasks beat sends: `rentals.advance` moves due rentals along and sends relay work
still owed, once per interval however often it is sent; the shortfall tasks place missing
relays."""

from datetime import timedelta

from apps.containers.models import InstanceStatus
from apps.rentals import tasks
from tests.containers.conftest import make_server
from tests.rentals.conftest import mails, relays, rental


def test_the_advance_task_does_both_halves_once_per_interval(renting, at, run_operations):
    at(renting.rental_expiry - timedelta(days=7), plus=timedelta(seconds=1))
    assert tasks.advance() == {"advanced": 1, "relay_work": 0}
    assert tasks.advance() is None  # sent twice in the same minute: run once

    at(renting.rental_expiry, plus=timedelta(minutes=2))
    assert tasks.advance() == {"advanced": 1, "relay_work": 0}  # the stop is already queued
    run_operations()
    assert {r.status for r in relays(renting)} == {InstanceStatus.STOPPED}
    assert mails(renting)[1:] == ["rental-reminder", "rental-suspended"]


def test_the_shortfall_tasks_place_missing_relays(customer, superadmin, fake_engine,
                                                  run_operations):
    from apps.rentals import services

    services.extend(user=customer, days=30, actor=superadmin, via="test")
    run_operations()
    assert rental(customer).relays_missing == 3
    assert tasks.recover_shortfalls() == 0

    make_server(name="late-a")
    assert tasks.recover_shortfalls_now() == 1  # kicked when capacity appears, not interval-bound
    run_operations()
    assert len(relays(customer, InstanceStatus.RUNNING)) == 1
    assert rental(customer).relays_missing == 2
