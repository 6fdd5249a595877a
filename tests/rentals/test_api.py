"""The rental over the API: operators read a customer's rental, renew it to a date or by days,
suspend and resume it by hand, and delete accounts whose finance is settled. Every transition
goes through the rental's verbs (audit, e-mail, relays following); every bad request is a 4xx
with a clear message and changes nothing; callers who may not see the customer get 404."""

import datetime
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.utils import timezone

from apps.accounts.models import RentalState, Role
from apps.audit.models import AuditEvent
from apps.billing import services as billing
from apps.notifications.models import OutboundEmail
from apps.rentals import services
from tests.commerce.helpers import refused
from tests.conftest import token_client
from tests.factories import UserFactory
from tests.rentals.face import RUNNING, STOPPED, relays_of, rent, running_containers, servers, snapshot

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(timedelta(hours=8))


def test_the_renter_runs_three_relays(renter, fake_engine):
    assert running_containers(fake_engine, renter) == 3


def grant(user, label: str) -> None:
    app_label, codename = label.split(".")
    user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label,
                                                     codename=codename))


def rental_of(response) -> dict:
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["success"] is True
    return body["rental"]


def in_days(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def mails(user, template: str) -> int:
    return OutboundEmail.objects.filter(recipient__address=user.email, template=template).count()


# --- Who may call what ------------------------------------------------------------------------

PERSONAS = ["superadmin", "admin", "distributor", "user", "stranger"]
ENDPOINTS = {  # name: (method, path suffix, body, expected per persona)
    "rental": ("get", "/rental", None, {"superadmin": 200, "admin": 200}),
    "renew": ("post", "/renew", {"days": 30}, {"superadmin": 200, "admin": 200}),
    "suspend": ("post", "/suspend", {"reason": "abuse"}, {"superadmin": 200, "admin": 200}),
    # Deleting is the super admin's unless granted: an admin is told so (403).
    "delete": ("delete", "", None, {"superadmin": 200, "admin": 403}),
}


def call(client, endpoint: str, user):
    method, suffix, body, _expected = ENDPOINTS[endpoint]
    path = f"/api/user/{user.pk}{suffix}"
    if method == "post":
        return client.post(path, body, format="json")
    return getattr(client, method)(path)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_persona_gets_the_right_answer(personas, renter, endpoint, persona):
    before = snapshot(renter)
    response = call(token_client(personas[persona]), endpoint, renter)

    expected = ENDPOINTS[endpoint][3].get(persona, 404)  # outside the staff: nothing is here
    assert response.status_code == expected, response.content[:300]
    assert response.json()["success"] is (expected == 200)
    if expected != 200:
        assert snapshot(renter) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_callers_authenticate_first(anon_api, renter, endpoint):
    before = snapshot(renter)
    refused(call(anon_api, endpoint, renter), 401, "not_authenticated")
    assert snapshot(renter) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_admin_is_told_a_super_admin_is_not_there(admin_user, superadmin, endpoint):
    grant(admin_user, "accounts.delete_user")
    refused(call(token_client(admin_user), endpoint, superadmin), 404, "not_found")


@pytest.mark.parametrize("path", ["/api/user/999999/rental", f"/api/user/{2**64}/rental",
                                  "/api/user/abc/rental", "/api/user/-1/renew"])
def test_an_unknown_or_malformed_id_is_a_json_404(superadmin, path):
    refused(token_client(superadmin).get(path), 404, "not_found")


def test_the_admin_role_holds_the_rental_permissions_but_not_deletion(admin_user):
    assert admin_user.has_perm("rentals.view_rental")
    assert admin_user.has_perm("rentals.renew_rental")
    assert admin_user.has_perm("rentals.suspend_rental")
    assert not admin_user.has_perm("accounts.delete_user")


# --- Reading ----------------------------------------------------------------------------------

def test_the_rental_says_state_end_period_and_relays(admin_user, renter):
    rental = rental_of(token_client(admin_user).get(f"/api/user/{renter.pk}/rental"))

    assert rental["user_id"] == renter.pk
    assert rental["state"] == RentalState.ACTIVE
    assert datetime.datetime.fromisoformat(rental["end"]) == renter.rental_expiry
    assert rental["period"] == 1
    assert rental["suspended_by_hand"] is False and rental["suspension_reason"] == ""
    assert rental["relays"] == {"promised": 3, "running": 3, "missing": 0, "intent": "run"}
    assert rental["relay_work"]["pending"] is False
    assert rental["relay_work"]["operation_id"] is None
    assert rental["reminders_sent"] == []


def test_the_rental_lists_the_reminders_sent_this_period(admin_user, renter):
    services.advance_due(now=renter.rental_expiry - timedelta(days=6))  # the 7-day reminder

    rental = rental_of(token_client(admin_user).get(f"/api/user/{renter.pk}/rental"))

    assert [r["days_before"] for r in rental["reminders_sent"]] == [7]


def test_the_rental_shows_a_shortfall_and_the_work_under_way(admin_user, customer, fake_engine,
                                                              run_operations):
    servers(1)  # three relays promised, room for one
    rent(customer)
    client = token_client(admin_user)

    queued = rental_of(client.get(f"/api/user/{customer.pk}/rental"))
    assert queued["relay_work"]["pending"] is True
    assert queued["relay_work"]["operation_id"] is not None

    run_operations()
    short = rental_of(client.get(f"/api/user/{customer.pk}/rental"))
    assert short["relays"] == {"promised": 3, "running": 1, "missing": 2, "intent": "run"}
    assert short["relay_work"]["operation_id"] is None


# --- Renewing ---------------------------------------------------------------------------------

def test_renewing_to_a_date_ends_the_rental_after_that_day_in_the_panels_time_zone(
        admin_user, renter):
    until = in_days(90)

    response = token_client(admin_user).post(f"/api/user/{renter.pk}/renew", {"until": until},
                                             format="json")

    rental = rental_of(response)
    end = datetime.datetime.fromisoformat(rental["end"]).astimezone(SHANGHAI)
    assert end == datetime.datetime.combine(datetime.date.fromisoformat(until) + timedelta(days=1),
                                            datetime.time(), SHANGHAI)
    assert rental["state"] == RentalState.ACTIVE and rental["period"] == 2
    assert response.json()["message"].startswith("Renewed until ")
    event = AuditEvent.objects.get(action="rentals.renewed")
    assert event.actor_id == admin_user.pk and event.details["via"] == "operator"
    assert mails(renter, "renewal-succeeded") == 1


def test_renewing_by_days_counts_from_the_current_end(admin_user, renter):
    end = renter.rental_expiry

    rental = rental_of(token_client(admin_user).post(f"/api/user/{renter.pk}/renew",
                                                     {"days": "10"}, format="json"))

    assert datetime.datetime.fromisoformat(rental["end"]) == end + timedelta(days=10)


def test_renewing_a_rental_that_ended_restarts_the_same_relays(admin_user, renter, fake_engine,
                                                               run_operations):
    ports = relays_of(renter)
    with time_machine.travel(renter.rental_expiry + timedelta(hours=1), tick=False):
        services.advance_due()  # the end: suspended, relays stopped
        run_operations()
        assert {status for _s, _p, status in relays_of(renter)} == {STOPPED}
        assert running_containers(fake_engine, renter) == 0

        response = token_client(admin_user).post(f"/api/user/{renter.pk}/renew", {"days": 30},
                                                 format="json")
        assert rental_of(response)["state"] == RentalState.ACTIVE
        run_operations()

    assert relays_of(renter) == [(server, port, RUNNING) for server, port, _status in ports]
    assert running_containers(fake_engine, renter) == 3


# --- Suspending and resuming by hand ----------------------------------------------------------

def test_a_suspension_by_hand_stops_the_relays_and_tells_the_customer_why(admin_user, renter,
                                                                          fake_engine,
                                                                          run_operations):
    client = token_client(admin_user)

    rental = rental_of(client.post(f"/api/user/{renter.pk}/suspend",
                                   {"reason": "Unpaid invoice 42"}, format="json"))
    run_operations()

    assert rental["state"] == RentalState.SUSPENDED
    assert rental["suspended_by_hand"] is True
    assert rental["suspension_reason"] == "Unpaid invoice 42"
    assert running_containers(fake_engine, renter) == 0
    assert {status for _s, _p, status in relays_of(renter)} == {STOPPED}  # ports kept
    assert mails(renter, "rental-suspended") == 1
    assert AuditEvent.objects.filter(action="rentals.suspended", actor=admin_user).exists()


def test_resuming_starts_the_relays_again(admin_user, renter, fake_engine, run_operations):
    client = token_client(admin_user)
    client.post(f"/api/user/{renter.pk}/suspend", {"reason": "abuse"}, format="json")
    run_operations()

    rental = rental_of(client.post(f"/api/user/{renter.pk}/resume"))
    run_operations()

    assert rental["state"] == RentalState.ACTIVE and rental["suspension_reason"] == ""
    assert running_containers(fake_engine, renter) == 3
    assert mails(renter, "rental-resumed") == 1


# --- Bad input: a 4xx, a clear message, nothing changed ---------------------------------------

@pytest.mark.parametrize(("body", "code"), [
    ({"until": "2020-01-01"}, "date_in_past"),
    ({"until": "yesterday"}, "invalid_date"),
    ({"until": "2027-13-45"}, "invalid_date"),
    ({"until": "9999-12-31"}, "date_too_far"),
    ({"days": 0}, "invalid_days"),
    ({"days": -5}, "invalid_days"),
    ({"days": 100000}, "invalid_days"),
    ({"days": "x"}, "invalid"),
    ({"days": 1.5}, "invalid"),
    ({"days": True}, "invalid"),
    ({"until": ["2027-01-01"]}, "invalid"),
    ({"until": "2027-01-01", "days": 30}, "invalid_renewal"),
    ({}, "invalid_renewal"),
    ({"until": "", "days": None}, "invalid_renewal"),
])
def test_a_bad_renewal_is_refused_and_changes_nothing(admin_user, renter, body, code):
    before = snapshot(renter)

    error = refused(token_client(admin_user).post(f"/api/user/{renter.pk}/renew", body,
                                                   format="json"), 400, code)

    assert error["fields"]  # the field at fault is named
    assert snapshot(renter) == before


def test_a_body_that_is_not_an_object_is_refused(admin_user, renter):
    before = snapshot(renter)
    response = token_client(admin_user).generic("POST", f"/api/user/{renter.pk}/renew", "[1, 2]",
                                                content_type="application/json")
    refused(response, 400)
    assert snapshot(renter) == before


def test_a_past_date_is_refused_with_its_reason(admin_user, renter):
    error = refused(token_client(admin_user).post(
        f"/api/user/{renter.pk}/renew", {"until": in_days(-1)}, format="json"), 400, "date_in_past")
    assert error["message"] == "The end date must be in the future."
    assert error["fields"] == {"until": ["The end date must be in the future."]}


def test_renewing_a_deleted_account_is_refused(superadmin, admin_user, customer):
    services.delete_user(actor=superadmin, user=customer)
    before = snapshot(customer)

    refused(token_client(admin_user).post(f"/api/user/{customer.pk}/renew", {"days": 30},
                                           format="json"), 409, "account_deleted")

    assert snapshot(customer) == before


def test_renewing_a_staff_account_is_refused(superadmin, admin_user):
    before = snapshot(admin_user)
    refused(token_client(superadmin).post(f"/api/user/{admin_user.pk}/renew", {"days": 30},
                                           format="json"), 409, "not_a_customer")
    assert snapshot(admin_user) == before


@pytest.mark.parametrize(("body", "code"), [
    ({}, "reason_required"), ({"reason": ""}, "reason_required"),
    ({"reason": "   "}, "reason_required"), ({"reason": None}, "reason_required"),
    ({"reason": "x" * 501}, "reason_too_long"), ({"reason": {"a": 1}}, "invalid"),
])
def test_a_suspension_without_a_usable_reason_is_refused(admin_user, renter, body, code):
    before = snapshot(renter)
    refused(token_client(admin_user).post(f"/api/user/{renter.pk}/suspend", body,
                                           format="json"), 400, code)
    assert snapshot(renter) == before


def test_suspending_twice_and_resuming_what_is_not_held_are_conflicts(admin_user, renter):
    client = token_client(admin_user)
    refused(client.post(f"/api/user/{renter.pk}/resume"), 409, "not_suspended")
    client.post(f"/api/user/{renter.pk}/suspend", {"reason": "abuse"}, format="json")
    before = snapshot(renter)

    refused(client.post(f"/api/user/{renter.pk}/suspend", {"reason": "again"}, format="json"),
             409, "already_suspended")

    assert snapshot(renter) == before


def test_a_deleted_account_held_by_an_operator_cannot_be_resumed(superadmin, admin_user, renter):
    services.suspend(user=renter, actor=admin_user, reason="abuse")
    services.delete_user(actor=superadmin, user=renter)
    before = snapshot(renter)

    refused(token_client(admin_user).post(f"/api/user/{renter.pk}/resume"), 409,
             "account_deleted")

    assert snapshot(renter) == before


def test_a_customer_without_a_rental_cannot_be_suspended(admin_user, customer):
    before = snapshot(customer)
    refused(token_client(admin_user).post(f"/api/user/{customer.pk}/suspend",
                                           {"reason": "abuse"}, format="json"), 409, "not_active")
    assert snapshot(customer) == before


# --- Deleting an account ----------------------------------------------------------------------

def test_deleting_an_account_releases_its_relays_and_anonymises_it(superadmin, renter,
                                                                   fake_engine, run_operations):
    email = renter.email

    rental = rental_of(token_client(superadmin).delete(f"/api/user/{renter.pk}"))
    run_operations()

    renter.refresh_from_db()
    assert rental["deleted"] is True and rental["state"] == RentalState.DEREGISTERED
    assert renter.email != email and not renter.is_active and renter.deleted_at
    assert relays_of(renter) == []  # removed, ports released
    assert fake_engine.containers == {}
    assert AuditEvent.objects.filter(action="accounts.deleted", actor=superadmin).exists()
    assert OutboundEmail.objects.filter(template="account-deleted").count() == 1


def test_deleting_an_account_with_a_balance_is_refused_with_what_is_open(superadmin, renter):
    billing.top_up(actor=superadmin, user=renter, amount_fen=1234, reference="r-1")
    before = snapshot(renter)

    error = refused(token_client(superadmin).delete(f"/api/user/{renter.pk}"), 409,
                     "finance_unsettled")

    assert len(error["fields"]["unsettled"]) == 1
    assert "balance" in error["fields"]["unsettled"][0] and "12.34" in error["message"]
    assert snapshot(renter) == before


def test_nobody_deletes_their_own_account(superadmin):
    UserFactory(username="root2", role=Role.SUPERADMIN)
    before = snapshot(superadmin)
    refused(token_client(superadmin).delete(f"/api/user/{superadmin.pk}"), 409,
             "cannot_delete_self")
    assert snapshot(superadmin) == before


def test_the_last_super_admin_cannot_be_deleted_even_by_an_admin_granted_deletion(
        superadmin, admin_user):
    grant(admin_user, "accounts.delete_user")
    before = snapshot(superadmin)

    refused(token_client(superadmin).delete(f"/api/user/{superadmin.pk}"), 409)
    refused(token_client(admin_user).delete(f"/api/user/{superadmin.pk}"), 404, "not_found")

    assert snapshot(superadmin) == before


def test_an_admin_granted_deletion_deletes_customers_but_not_other_staff(admin_user, customer):
    grant(admin_user, "accounts.delete_user")
    peer = UserFactory(username="peer", role=Role.ADMIN)
    client = token_client(admin_user)
    before = snapshot(peer)

    refused(client.delete(f"/api/user/{peer.pk}"), 403, "forbidden")
    assert snapshot(peer) == before
    assert rental_of(client.delete(f"/api/user/{customer.pk}"))["deleted"] is True


def test_deleting_an_account_twice_is_a_404(superadmin, customer):
    client = token_client(superadmin)
    rental_of(client.delete(f"/api/user/{customer.pk}"))
    refused(client.delete(f"/api/user/{customer.pk}"), 404)


# --- The schema -------------------------------------------------------------------------------

def test_the_schema_documents_the_rental_endpoints(admin_user):
    paths = token_client(admin_user).get("/api/schema").json()["paths"]

    renew = paths["/api/user/{id}/renew"]["post"]
    body = renew["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/RenewRequest")
    assert {"200", "400", "404", "409"} <= set(renew["responses"])
    assert "post" in paths["/api/user/{id}/suspend"] and "post" in paths["/api/user/{id}/resume"]
    assert "get" in paths["/api/user/{id}/rental"]
    assert "409" in paths["/api/user/{id}"]["delete"]["responses"]


# --- The customer's own rental ---------------------------------------------------------------

def test_a_customer_reads_their_own_rental_and_why_it_is_suspended(admin_user, renter):
    token_client(admin_user).post(f"/api/user/{renter.pk}/suspend", {"reason": "Abuse report 7"},
                                  format="json")

    mine = rental_of(token_client(renter).get("/api/user/me/rental"))

    assert mine["user_id"] == renter.pk
    assert mine["state"] == RentalState.SUSPENDED
    assert mine["suspension_reason"] == "Abuse report 7"
    assert mine["relays"]["promised"] == 3


def test_a_customer_sees_a_shortfall_but_not_what_the_servers_answered(
        admin_user, customer, fake_engine, run_operations):
    from apps.rentals.models import Rental

    servers(1)  # three relays promised, room for one
    rent(customer)
    run_operations()
    Rental.objects.filter(pk=customer.pk).update(relays_note="relay-a: ssh: connection refused")

    mine = rental_of(token_client(customer).get("/api/user/me/rental"))
    theirs = rental_of(token_client(admin_user).get(f"/api/user/{customer.pk}/rental"))

    assert mine["relays"]["missing"] == 2
    assert mine["relay_work"]["note"] == ""
    assert theirs["relay_work"]["note"] == "relay-a: ssh: connection refused"


@pytest.mark.parametrize("persona", ["admin_user", "distributor"])
def test_only_customers_have_a_rental_of_their_own(request, persona):
    client = token_client(request.getfixturevalue(persona))
    refused(client.get("/api/user/me/rental"), 404)


def test_reading_ones_own_rental_needs_signing_in(anon_api):
    refused(anon_api.get("/api/user/me/rental"), 401)
