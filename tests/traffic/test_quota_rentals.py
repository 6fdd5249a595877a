"""Quota pauses and the rental machinery: a paused relay counts as in line (not a shortfall to
place elsewhere) and is not restarted by the rental's relay work while its server is over quota;
after the reset only relays whose rental wants them running start again."""

from apps.containers import services as containers
from apps.containers.models import DerpInstance, InstanceStatus
from apps.rentals import services as rentals
from apps.rentals.models import Rental
from apps.servers.models import ServerStatus
from tests.rentals.conftest import relays
from tests.traffic.quota_support import QUOTA, RESET_DAY, fresh, mails, month_reset, round_, used


def paused_server(three_relay_renter):
    """The first of the renter's three servers, given a quota and over it."""
    instance = DerpInstance.objects.select_related("server").filter(
        user=three_relay_renter, status=InstanceStatus.RUNNING).order_by("pk").first()
    server = instance.server
    server.monthly_quota_bytes = QUOTA
    server.quota_reset_day = 5
    server.save(update_fields=["monthly_quota_bytes", "quota_reset_day"])
    return round_(used(server, 1.0)), instance


def test_rental_work_does_not_restart_a_paused_relay_nor_replace_it(three_relay_renter, run_operations,
                                                                   fake_engine):
    server, instance = paused_server(three_relay_renter)
    run_operations()
    assert fresh(instance).status == InstanceStatus.STOPPED

    rental = Rental.objects.get(pk=three_relay_renter.pk)
    assert rentals.relays_in_line(three_relay_renter, rental) == (True, 0)
    with_work = rentals.request_relay_work(user=three_relay_renter)
    run_operations()

    with_work.refresh_from_db()
    assert with_work.state == "done", with_work.error
    assert fresh(instance).status == InstanceStatus.STOPPED
    assert len(relays(three_relay_renter)) == 3  # nothing placed elsewhere instead
    assert not fake_engine.on(server)[instance.container_name]["running"]
    rental.refresh_from_db()
    assert rental.relays_missing == 0


def test_provisioning_leaves_a_stopped_relay_on_an_over_quota_server_for_the_reset(
        three_relay_renter, run_operations):
    server, instance = paused_server(three_relay_renter)
    run_operations()
    DerpInstance.objects.filter(pk=instance.pk).update(paused_for_quota=False)  # stopped otherwise

    report = containers.provision_rental(user_id=three_relay_renter.pk, servers=3)

    assert report.restarted == [] and report.created == []
    assert fresh(instance).paused_for_quota  # it waits for the reset like the others
    round_(month_reset(server), now=RESET_DAY)
    run_operations()
    assert fresh(instance).status == InstanceStatus.RUNNING


def test_a_suspended_customers_relay_stays_stopped_after_the_reset(capped, run_operations,
                                                                 superadmin):
    server = round_(used(capped["server"], 1.0))
    run_operations()
    rentals.suspend(user=capped["alice"], actor=superadmin, reason="unpaid invoice")
    run_operations()

    round_(month_reset(server), now=RESET_DAY)
    run_operations()

    server.refresh_from_db()
    assert server.status == ServerStatus.HEALTHY
    alice_relay, bob_relay = fresh(capped["relays"]["alice"]), fresh(capped["relays"]["bob"])
    assert (alice_relay.status, alice_relay.paused_for_quota) == (InstanceStatus.STOPPED, False)
    assert bob_relay.status == InstanceStatus.RUNNING
    assert mails(capped["alice"], "quota-resumed") == []
    assert len(mails(capped["bob"], "quota-resumed")) == 1
    assert fresh(capped["relays"]["alice-other"]).status == InstanceStatus.STOPPED  # suspended
