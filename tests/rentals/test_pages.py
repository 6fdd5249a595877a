"""The rental's pages. Operators: a customer's page (state, end, why suspended, relays, pending
work) with forms to renew, suspend, resume and delete under the same permissions as the API,
and two dashboard lists (customers short of relays, relay work pending). Customers: their page
says where the rental stands, in the panel's time (Asia/Shanghai), why it is suspended and how
to renew, and honestly how many relays run and what happens about the missing ones."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.accounts.models import RentalState
from apps.billing import services as billing
from apps.rentals import services
from apps.rentals.models import Rental
from tests.conftest import signed_in_client
from tests.rentals.face import rent, running_containers, servers, snapshot

pytestmark = pytest.mark.django_db

PERSONAS = ["superadmin", "admin", "distributor", "user", "stranger"]


@pytest.fixture
def short(customer, fake_engine, run_operations):
    """The customer, promised three relays while only one server has room."""
    servers(1)
    rent(customer)
    run_operations()
    return customer


def page(user) -> str:
    return f"/ops/customers/{user.pk}/"


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def in_days(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


# --- The operators' customer page ------------------------------------------------------------

@pytest.mark.parametrize("persona", PERSONAS)
def test_the_customer_page_is_the_staffs(personas, renter, persona):
    response = signed_in_client(personas[persona]).get(page(renter))
    assert response.status_code == (200 if persona in ("superadmin", "admin") else 404)


def test_anonymous_visitors_sign_in_first(anon_client, renter):
    response = anon_client.get(page(renter))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_admin_cannot_open_a_super_admins_page(admin_user, superadmin):
    assert signed_in_client(admin_user).get(page(superadmin)).status_code == 404


def test_the_customer_page_shows_the_rental_and_leads_to_its_tasks(admin_user, renter):
    services.suspend(user=renter, actor=admin_user, reason="Spam from relay")
    body = signed_in_client(admin_user).get(page(renter)).content.decode()

    assert "Suspended" in body and "Spam from relay" in body
    end = timezone.localtime(renter.rental_expiry).strftime("%Y-%m-%d %H:%M")
    assert f"{end} (Asia/Shanghai)" in body
    assert "3 of 3 running" in body
    assert f'href="/ops/operations/?customer_id={renter.pk}"' in body
    assert f'action="/ops/customers/{renter.pk}/resume/"' in body  # held: resume offered


def test_the_delete_form_is_shown_only_to_whoever_may_delete(admin_user, superadmin, renter):
    assert "/delete/" not in signed_in_client(admin_user).get(page(renter)).content.decode()
    assert "/delete/" in signed_in_client(superadmin).get(page(renter)).content.decode()


def test_whoever_may_top_up_is_led_to_the_top_up_with_this_customer_chosen(admin_user, superadmin,
                                                                            renter):
    link = f"/admin/billing/wallet/top-up/?user={renter.pk}"
    assert link not in signed_in_client(admin_user).get(page(renter)).content.decode()
    assert link in signed_in_client(superadmin).get(page(renter)).content.decode()


def test_renewing_on_the_page_redirects_back_with_the_new_end(admin_user, renter):
    client = signed_in_client(admin_user)

    response = client.post(f"{page(renter)}renew/", {"until": in_days(60)})

    assert response.status_code == 302 and response["Location"] == page(renter)
    renter.refresh_from_db()
    assert timezone.localdate(renter.rental_expiry) == timezone.localdate() + timedelta(days=61)
    assert said(response)[0].startswith("Renewed until ")


@pytest.mark.parametrize(("fields", "status", "message"), [
    ({"until": in_days(-1)}, 400, "The end date must be in the future."),
    ({"until": "31/12/2027"}, 400, "Enter a valid date."),
    ({"days": "0"}, 400, "Ensure this value is greater than or equal to 1."),
    ({}, 400, "Give one of: an end date, a number of days or a plan."),
    ({"until": in_days(5), "days": "5"}, 400, "Give one of: an end date, a number of days or a plan."),
])
def test_a_bad_renewal_on_the_page_is_refused_and_changes_nothing(admin_user, renter, fields,
                                                                 status, message):
    before = snapshot(renter)

    response = signed_in_client(admin_user).post(f"{page(renter)}renew/", fields)

    assert response.status_code == status
    assert message in response.content.decode()
    assert snapshot(renter) == before


def test_renewing_a_deleted_account_on_the_page_is_a_conflict(superadmin, customer):
    services.delete_user(actor=superadmin, user=customer)
    before = snapshot(customer)
    response = signed_in_client(superadmin).post(f"{page(customer)}renew/", {"days": "30"})
    assert response.status_code == 409
    assert snapshot(customer) == before


def test_suspending_needs_a_reason_then_stops_the_relays(admin_user, renter, fake_engine,
                                                         run_operations):
    client = signed_in_client(admin_user)
    before = snapshot(renter)
    refused = client.post(f"{page(renter)}suspend/", {"reason": ""})
    assert refused.status_code == 400 and snapshot(renter) == before

    done = client.post(f"{page(renter)}suspend/", {"reason": "Abuse report 7"})
    run_operations()

    assert done.status_code == 302
    renter.refresh_from_db()
    assert renter.rental_state == RentalState.SUSPENDED
    assert running_containers(fake_engine, renter) == 0

    client.post(f"{page(renter)}resume/")
    run_operations()
    assert running_containers(fake_engine, renter) == 3


def test_resuming_what_is_not_held_is_refused_on_the_page(admin_user, renter):
    before = snapshot(renter)
    response = signed_in_client(admin_user).post(f"{page(renter)}resume/")
    assert response.status_code == 409
    assert "This rental is not suspended by an operator." in response.content.decode()
    assert snapshot(renter) == before


def test_an_admin_without_the_grant_cannot_delete_on_the_page(admin_user, renter):
    before = snapshot(renter)
    response = signed_in_client(admin_user).post(f"{page(renter)}delete/", {"confirm": "on"})
    assert response.status_code == 403
    assert snapshot(renter) == before


def test_deleting_on_the_page_lists_what_is_open(superadmin, renter):
    billing.top_up(actor=superadmin, user=renter, amount_fen=250, reference="r-1")
    client = signed_in_client(superadmin)
    before = snapshot(renter)

    unconfirmed = client.post(f"{page(renter)}delete/", {})
    refused = client.post(f"{page(renter)}delete/", {"confirm": "on"})

    assert unconfirmed.status_code == 400
    assert refused.status_code == 409
    body = refused.content.decode()
    assert "finance is unsettled" in body and "2.50" in body
    assert snapshot(renter) == before


def test_deleting_on_the_page_deletes_the_account(superadmin, renter, run_operations):
    response = signed_in_client(superadmin).post(f"{page(renter)}delete/", {"confirm": "on"})
    run_operations()

    assert response.status_code == 302
    renter.refresh_from_db()
    assert renter.deleted_at and not renter.is_active
    assert "account deleted" in signed_in_client(superadmin).get(page(renter)).content.decode()


def test_a_get_on_an_action_only_leads_back_to_the_page(admin_user, renter):
    before = snapshot(renter)
    response = signed_in_client(admin_user).get(f"{page(renter)}suspend/")
    assert response.status_code == 302 and response["Location"] == page(renter)
    assert snapshot(renter) == before


# --- The ops dashboard ------------------------------------------------------------------------

def test_the_dashboard_lists_customers_short_of_relays(admin_user, short):
    rental = Rental.objects.get(pk=short.pk)
    assert rental.relays_missing == 2

    body = signed_in_client(admin_user).get("/ops/").content.decode()

    listed = body.split('id="short-of-relays"')[1].split("</table>")[0]
    assert f'<tr data-customer-id="{short.pk}"><td><a href="{page(short)}">{short.email}</a>' \
           f"</td><td>3</td><td>1</td><td>2</td>" in listed


def test_the_dashboard_lists_relay_work_pending(admin_user, customer, fake_engine):
    servers(3)
    rent(customer)  # the work is queued, not done yet
    body = signed_in_client(admin_user).get("/ops/").content.decode()

    listed = body.split('id="relay-work-pending"')[1].split("</table>")[0]
    assert f'href="{page(customer)}"' in listed
    assert "/ops/operations/" in listed  # the task doing it


def test_the_dashboard_lists_are_empty_when_all_is_in_line(admin_user, renter):
    body = signed_in_client(admin_user).get("/ops/").content.decode()
    assert "Every active customer has the relays they were promised." in body
    assert "relays are in line with their rental." in body


# --- The customer's page ----------------------------------------------------------------------

def test_the_customer_sees_the_end_in_shanghai_time(renter):
    services.renew(user=renter, actor=None, until=in_days(20))

    body = signed_in_client(renter).get("/accounts/me/").content.decode()

    # The rental runs through the chosen day: it ends at the next midnight, Shanghai time.
    assert '<small class="time-zone">(Asia/Shanghai)</small>' in body
    assert f'<dd class="rental-expiry">{in_days(21)} 00:00</dd>' in body
    assert "3 of 3 running" in body


def test_a_customer_suspended_by_hand_reads_why(admin_user, renter):
    services.suspend(user=renter, actor=admin_user, reason="Unpaid invoice 42")

    body = signed_in_client(renter).get("/accounts/me/").content.decode()

    assert services.suspension_message(renter) in body.replace("&#x27;", "'")
    assert "Unpaid invoice 42" in body
    assert 'class="renew-how"' not in body  # renewing does not lift an operator's hold


def test_a_customer_whose_rental_ended_reads_how_to_renew(renter):
    services.advance_due(now=renter.rental_expiry + timedelta(minutes=1))

    body = signed_in_client(renter).get("/accounts/me/").content.decode()

    assert "and is suspended: renew it" in body
    assert 'href="#renew"' in body and 'id="renew"' in body


def test_a_customer_short_of_relays_reads_what_runs_and_what_happens_next(short):
    body = signed_in_client(short).get("/accounts/me/").content.decode()

    assert "1 of the 3 relays of your rental are running." in body
    assert "The missing 2 are placed as soon as a server has room: we check every 10 minutes." \
        in body
    assert "under way" not in body


def test_the_check_interval_is_the_one_the_super_admin_set(short):
    every_five = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="Place relays customers are short of",
                                task="rentals.recover_shortfalls", interval=every_five)

    body = signed_in_client(short).get("/accounts/me/").content.decode()

    assert "we check every 5 minutes." in body


def test_a_customer_whose_relays_are_being_set_up_is_told_so(customer, fake_engine):
    servers(3)
    rent(customer)  # queued, no worker yet

    body = signed_in_client(customer).get("/accounts/me/").content.decode()

    assert "0 of the 3 relays of your rental are running." in body
    assert "Setting them up is under way right now." in body
