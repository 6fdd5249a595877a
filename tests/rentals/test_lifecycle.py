"""A rental over time: reminders 7, 3 and 1 days before the end (once per threshold per
period), suspension at the end (relays stopped, ports kept), deregistration 30 days later
(relays removed, ports released, derpMaps destroyed, account closed), and renewal from each
state. The clock is moved with time-machine; the fake engine stands in for the servers."""

from datetime import timedelta

from django.conf import settings

from apps.accounts.models import RentalState, User
from apps.acl.models import AclConfig, DerpMapFeed, Device
from apps.containers.models import InstanceStatus
from apps.rentals import services
from tests.rentals.conftest import mails, relays, reminder_days, rental


def running(engine, instance) -> bool:
    return engine.on(instance.server)[instance.container_name]["running"]


def test_a_rental_is_reminded_then_suspended_then_deregistered_each_mail_once(
        renting, fake_engine, at, sweep):
    end = renting.rental_expiry
    first = relays(renting)
    ports = [(r.server_id, r.port) for r in first]
    acl_services_device = Device.objects.create(user=renting, name="laptop",
                                                node_key=f"nodekey:{1:064x}")

    for days in (7, 3, 1):
        at(end - timedelta(days=days))
        assert sweep() == 1
        assert sweep() == 0  # run again at the same moment: nothing more
    assert reminder_days(renting) == [7, 3, 1]
    assert mails(renting, "rental-reminder") == ["rental-reminder"] * 3

    at(end)
    assert sweep() == 1
    renting.refresh_from_db()
    assert renting.rental_state == RentalState.SUSPENDED and renting.is_active
    assert [r.status for r in relays(renting)] == [InstanceStatus.STOPPED] * 3
    assert [(r.server_id, r.port) for r in relays(renting)] == ports  # the ports stay reserved
    assert not any(running(fake_engine, r) for r in first)
    assert rental(renting).relays_settled

    at(end + timedelta(days=settings.RENTAL_DEREGISTER_AFTER_DAYS - 1))
    assert sweep() == 0  # suspended, not yet deregistered
    at(end + timedelta(days=settings.RENTAL_DEREGISTER_AFTER_DAYS))
    assert sweep() == 1
    assert sweep() == 0
    renting.refresh_from_db()
    assert renting.rental_state == RentalState.DEREGISTERED and not renting.is_active
    assert [r.status for r in relays(renting)] == [InstanceStatus.REMOVED] * 3
    assert all(fake_engine.on(s) == {} for s in {r.server for r in first})
    assert not AclConfig.objects.filter(user=renting).exists()  # nor brought back by the removals
    assert not DerpMapFeed.objects.filter(user=renting).exists()
    assert Device.objects.filter(pk=acl_services_device.pk).exists()  # devices stay for a renewal
    assert rental(renting).relays_settled and rental(renting).next_event_at is None

    assert mails(renting)[1:] == ["rental-reminder"] * 3 + ["rental-suspended",
                                                            "rental-deregistered"]
    assert mails(renting)[0] == "activation-succeeded"


def test_a_rental_shorter_than_a_threshold_skips_it(customer, superadmin, servers, at, sweep):
    services.extend(user=customer, days=5, actor=superadmin, via="test")
    end = User.objects.get(pk=customer.pk).rental_expiry
    assert rental(customer).next_event_at == end - timedelta(days=3)

    for moment in (end - timedelta(days=4), end - timedelta(days=3), end - timedelta(days=2),
                   end - timedelta(days=1)):
        at(moment)
        sweep()

    assert reminder_days(customer) == [3, 1]
    assert mails(customer, "rental-reminder") == ["rental-reminder"] * 2


def test_a_job_that_ran_late_sends_only_the_latest_reminder(renting, at, sweep):
    end = renting.rental_expiry
    at(end - timedelta(hours=12))  # the 7-, 3- and 1-day marks all passed while nothing ran

    assert sweep() == 1
    assert sweep() == 0

    assert reminder_days(renting) == [1]
    assert mails(renting, "rental-reminder") == ["rental-reminder"]
    assert rental(renting).next_event_at == end  # next: the end


def test_a_renewal_starts_a_new_period_reminded_again(renting, superadmin, at, sweep):
    end = renting.rental_expiry
    at(end - timedelta(days=3))
    sweep()
    assert reminder_days(renting) == [3]  # (the 7-day mark passed unseen: only the latest)
    period = rental(renting).period

    services.extend(user=renting, days=30, actor=superadmin, via="test")
    renewed = User.objects.get(pk=renting.pk).rental_expiry
    assert renewed == end + timedelta(days=30)
    assert rental(renting).period == period + 1
    for days in (7, 3, 1):
        at(renewed - timedelta(days=days))
        sweep()

    sent = list(rental(renting).reminders.order_by("pk").values_list("period", "days_before"))
    assert sent[-3:] == [(period + 1, 7), (period + 1, 3), (period + 1, 1)]
    assert mails(renting, "renewal-succeeded") == ["renewal-succeeded"]


def test_running_the_job_twice_sends_nothing_twice(renting, at, sweep, run_operations):
    end = renting.rental_expiry
    for moment in (end - timedelta(days=7), end - timedelta(days=1), end):
        at(moment)
        services.advance_due()
        services.advance_due()
        run_operations()
        services.send_pending_relay_work()
        services.send_pending_relay_work()
        run_operations()

    assert reminder_days(renting) == [7, 1]
    assert mails(renting)[1:] == ["rental-reminder", "rental-reminder", "rental-suspended"]


def test_renewal_while_suspended_restarts_the_same_relays(renting, superadmin, fake_engine, at,
                                                          sweep, run_operations):
    at(renting.rental_expiry)
    sweep()
    stopped = relays(renting)
    assert {r.status for r in stopped} == {InstanceStatus.STOPPED}

    services.extend(user=renting, days=30, actor=superadmin, via="test")
    run_operations()

    again = relays(renting)
    assert [(r.pk, r.server_id, r.port, r.container_name) for r in again] == [
        (r.pk, r.server_id, r.port, r.container_name) for r in stopped]  # same rows, same ports
    assert {r.status for r in again} == {InstanceStatus.RUNNING}
    assert all(running(fake_engine, r) for r in again)
    assert [c[0] for c in fake_engine.calls].count("run_relay") == 3  # none made anew
    renting.refresh_from_db()
    assert renting.rental_state == RentalState.ACTIVE
    assert rental(renting).suspended_at is None and rental(renting).relays_settled
    assert mails(renting, "renewal-succeeded") == ["renewal-succeeded"]


def test_renewal_after_deregistration_places_new_relays_and_reopens_the_account(
        renting, superadmin, fake_engine, at, sweep, run_operations):
    end = renting.rental_expiry
    at(end)
    sweep()
    at(end + timedelta(days=settings.RENTAL_DEREGISTER_AFTER_DAYS))
    sweep()
    old = relays(renting)
    assert {r.status for r in old} == {InstanceStatus.REMOVED}

    until = (end + timedelta(days=90)).date().isoformat()
    services.renew(user=renting, actor=superadmin, until=until)
    run_operations()

    renting.refresh_from_db()
    assert renting.rental_state == RentalState.ACTIVE and renting.is_active
    new = relays(renting, InstanceStatus.RUNNING)
    assert len(new) == 3 and not {r.pk for r in new} & {r.pk for r in old}
    assert all(running(fake_engine, r) for r in new)
    assert AclConfig.objects.filter(user=renting).exists()  # a derpMap again, for the new relays
    assert rental(renting).deregistered_at is None
    assert mails(renting)[-1] == "renewal-succeeded"


def test_a_rental_the_job_first_sees_past_its_grace_is_deregistered_in_one_step(renting, at, sweep):
    at(renting.rental_expiry + timedelta(days=settings.RENTAL_DEREGISTER_AFTER_DAYS, hours=1))

    assert sweep() == 1

    renting.refresh_from_db()
    assert renting.rental_state == RentalState.DEREGISTERED
    assert {r.status for r in relays(renting)} == {InstanceStatus.REMOVED}
    assert mails(renting)[1:] == ["rental-deregistered"]  # not "suspended" a moment before
