"""The rental in the Django admin: the user form shows the state and end date read-only (a
posted end date changes nothing) and leads to the actions; the user list renews, suspends,
resumes and deletes through the rental's verbs after a confirmation page, asking the policy and
reporting each user's outcome; deactivating an account stops its relays; rentals are listed
read-only."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.utils import timezone

from apps.accounts.models import RentalState, Role
from apps.audit.models import AuditEvent
from apps.billing import services as billing
from apps.billing.models import Plan
from apps.rentals.models import Rental
from tests.accounts.helpers import admin_form_data
from tests.conftest import signed_in_client
from tests.factories import UserFactory
from tests.rentals.face import STOPPED, relays_of, rent, running_containers, snapshot

pytestmark = pytest.mark.django_db

USERS = "/admin/accounts/user/"


def change_url(user) -> str:
    return f"{USERS}{user.pk}/change/"


def act(client, action: str, users, **extra):
    return client.post(USERS, {"action": action, "index": 0,
                               ACTION_CHECKBOX_NAME: [u.pk for u in users], **extra})


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def in_days(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


# --- The user form ----------------------------------------------------------------------------

def test_the_user_form_cannot_change_the_end_date_or_the_state(admin_user, renter):
    client = signed_in_client(admin_user)
    before = snapshot(renter)
    data = admin_form_data(client, change_url(renter))
    assert "rental_expiry" not in data and "rental_state" not in data  # shown, not editable
    data.update({"rental_expiry_0": in_days(400), "rental_expiry_1": "12:00:00",
                 "rental_expiry": in_days(400), "rental_state": RentalState.DEREGISTERED})

    response = client.post(change_url(renter), data)

    assert response.status_code == 302  # the rest of the form saved
    assert snapshot(renter) == before  # no new end, no state, no audit, no e-mail, no work


def test_the_user_form_shows_the_rental_and_leads_to_its_actions(admin_user, renter):
    page = signed_in_client(admin_user).get(change_url(renter)).content.decode()
    assert renter.get_rental_state_display() in page
    assert f'href="/ops/customers/{renter.pk}/"' in page


def test_deactivating_an_account_stops_its_relays_and_reactivating_starts_them(
        admin_user, renter, fake_engine, run_operations):
    client = signed_in_client(admin_user)

    client.post(change_url(renter), admin_form_data(client, change_url(renter), is_active=False))
    run_operations()

    assert running_containers(fake_engine, renter) == 0
    assert {status for _s, _p, status in relays_of(renter)} == {STOPPED}  # ports kept
    assert AuditEvent.objects.filter(action="accounts.deactivated", actor=admin_user,
                                     target_id=str(renter.pk)).exists()

    client.post(change_url(renter), admin_form_data(client, change_url(renter), is_active="on"))
    run_operations()

    assert running_containers(fake_engine, renter) == 3
    assert AuditEvent.objects.filter(action="accounts.reactivated", actor=admin_user).exists()


# --- Renew… -----------------------------------------------------------------------------------

def test_renew_asks_for_a_date_then_renews_each_customer_and_says_so(admin_user, renter):
    other = rent(UserFactory(username="bob"))
    client = signed_in_client(admin_user)

    asked = act(client, "renew", [renter, other])
    assert asked.status_code == 200 and 'name="until"' in asked.content.decode()
    assert Rental.objects.get(pk=renter.pk).period == 1  # nothing yet

    done = act(client, "renew", [renter, other], apply=1, until=in_days(100))

    assert done.status_code == 302
    for user in (renter, other):
        user.refresh_from_db()
        assert timezone.localdate(user.rental_expiry) == timezone.localdate() + timedelta(days=101)
    assert sorted(m.split(":")[0] for m in said(done)) == sorted([renter.email, other.email])
    assert AuditEvent.objects.filter(action="rentals.renewed", actor=admin_user).count() == 2


def test_renew_adds_a_plans_days(admin_user, renter):
    plan = Plan.objects.get(duration_days=30)
    end = renter.rental_expiry
    act(signed_in_client(admin_user), "renew", [renter], apply=1, plan=plan.pk)
    renter.refresh_from_db()
    assert renter.rental_expiry == end + timedelta(days=30)


def test_renew_reports_a_refusal_per_user_and_renews_the_others(admin_user, renter):
    staff = UserFactory(username="helper", role=Role.ADMIN)

    done = act(signed_in_client(admin_user), "renew", [renter, staff], apply=1, days=10)

    messages = said(done)
    assert any(m.startswith(f"{staff.email}: Only customer accounts rent relays.") for m in messages)
    assert any(m.startswith(f"{renter.email}: renewed until") for m in messages)
    staff.refresh_from_db()
    assert staff.rental_state == RentalState.NONE


@pytest.mark.parametrize("fields", [
    {}, {"until": in_days(10), "days": "10"}, {"days": "0"}, {"days": "x"},
    {"until": "9999-12-31"}, {"until": "not a date"},
])
def test_a_bad_renewal_shows_the_form_again_and_changes_nothing(admin_user, renter, fields):
    before = snapshot(renter)

    response = act(signed_in_client(admin_user), "renew", [renter], apply=1, **fields)

    assert response.status_code in (200, 400)
    assert 'name="until"' in response.content.decode()  # asked again, or the refusal said
    assert snapshot(renter) == before


def test_a_date_in_the_past_is_refused_with_its_reason(admin_user, renter):
    before = snapshot(renter)
    response = act(signed_in_client(admin_user), "renew", [renter], apply=1, until=in_days(-3))
    assert "The end date must be in the future." in response.content.decode()  # the form again
    assert snapshot(renter) == before


# --- Suspend… and Resume ----------------------------------------------------------------------

def test_suspend_needs_a_reason(admin_user, renter):
    before = snapshot(renter)
    response = act(signed_in_client(admin_user), "suspend", [renter], apply=1, reason="  ")
    assert response.status_code == 400 and 'name="reason"' in response.content.decode()
    assert snapshot(renter) == before


def test_suspend_then_resume(admin_user, renter, fake_engine, run_operations):
    client = signed_in_client(admin_user)

    suspended = act(client, "suspend", [renter], apply=1, reason="Chargeback")
    run_operations()
    renter.refresh_from_db()
    assert renter.rental_state == RentalState.SUSPENDED
    assert Rental.objects.get(pk=renter.pk).suspension_reason == "Chargeback"
    assert running_containers(fake_engine, renter) == 0
    assert said(suspended) == [f"{renter.email}: suspended."]

    resumed = act(client, "resume", [renter])
    run_operations()
    renter.refresh_from_db()
    assert renter.rental_state == RentalState.ACTIVE
    assert running_containers(fake_engine, renter) == 3
    assert said(resumed)[-1] == f"{renter.email}: resumed (Active)."


def test_resuming_a_rental_not_held_says_so(admin_user, renter):
    before = snapshot(renter)
    response = act(signed_in_client(admin_user), "resume", [renter])
    assert said(response) == [f"{renter.email}: This rental is not suspended by an operator."]
    assert snapshot(renter) == before


# --- Delete account… --------------------------------------------------------------------------

def test_an_admin_has_no_delete_action_unless_granted(admin_user, renter):
    client = signed_in_client(admin_user)
    page = client.get(USERS).content.decode()
    assert 'value="renew"' in page and 'value="delete_accounts"' not in page
    before = snapshot(renter)

    act(client, "delete_accounts", [renter], apply=1)

    assert snapshot(renter) == before

    admin_user.user_permissions.add(Permission.objects.get(codename="delete_user"))
    assert 'value="delete_accounts"' in client.get(USERS).content.decode()


def test_delete_refuses_unsettled_finance_with_the_open_items_and_deletes_the_others(
        superadmin, renter, fake_engine, run_operations):
    owing = rent(UserFactory(username="owing"))
    billing.top_up(actor=superadmin, user=owing, amount_fen=500, reference="r-9")
    run_operations()
    client = signed_in_client(superadmin)
    owing_before = snapshot(owing)

    asked = act(client, "delete_accounts", [renter, owing])
    assert asked.status_code == 200 and "unsettled" in asked.content.decode()
    done = act(client, "delete_accounts", [renter, owing], apply=1)
    run_operations()

    messages = said(done)
    refusal = next(m for m in messages if m.startswith(owing.email))
    assert "finance is unsettled" in refusal and "5.00" in refusal
    assert f"{renter.email}: deleted." in messages
    assert {k: snapshot(owing)[k] for k in ("user", "rental", "relays")} == {
        k: owing_before[k] for k in ("user", "rental", "relays")}
    renter.refresh_from_db()
    assert renter.deleted_at and not renter.is_active
    assert relays_of(renter) == []


def test_delete_refuses_your_own_account(superadmin):
    UserFactory(username="root2", role=Role.SUPERADMIN)
    before = snapshot(superadmin)
    response = act(signed_in_client(superadmin), "delete_accounts", [superadmin], apply=1)
    assert said(response) == [f"{superadmin.email}: You cannot delete your own account."]
    assert snapshot(superadmin) == before


# --- Rentals, read-only -----------------------------------------------------------------------

def test_rentals_are_listed_read_only(admin_user, renter):
    client = signed_in_client(admin_user)
    listing = client.get("/admin/rentals/rental/")
    assert listing.status_code == 200 and renter.email in listing.content.decode()

    page = client.get(f"/admin/rentals/rental/{renter.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert f'href="/ops/customers/{renter.pk}/"' in page.content.decode()
    assert client.get("/admin/rentals/rental/add/").status_code == 403

    before = snapshot(renter)
    client.post(f"/admin/rentals/rental/{renter.pk}/change/", {"servers": 9, "period": 7})
    assert snapshot(renter) == before


def test_a_customer_reaches_no_rental_admin(customer):
    assert signed_in_client(customer).get("/admin/rentals/rental/").status_code in (302, 404)
