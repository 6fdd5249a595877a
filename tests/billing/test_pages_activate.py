"""/billing/activate/: a customer activates a code and the rental grows by the plan's days."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import RentalState
from apps.distribution.models import CodeStatus, Referral
from apps.notifications.models import OutboundEmail
from tests.billing.conftest import NOW, mistyped, text
from tests.conftest import signed_in_client
from tests.factories import UserFactory

CODE_TABLE = "distribution_activationcode"


def shown(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def code_lookups(queries) -> list[str]:
    return [q["sql"] for q in queries if CODE_TABLE in q["sql"]]


def test_the_form_is_shown(page):
    response = page.get("/billing/activate/")
    assert response.status_code == 200
    assert 'name="code"' in text(response)


def test_a_new_customer_gets_the_plan_from_now(frozen_clock, page, customer, make_code):
    code = make_code(30)

    response = page.post("/billing/activate/", {"code": code.display.lower()}, follow=True)

    customer.refresh_from_db()
    assert customer.rental_state == RentalState.ACTIVE
    assert customer.rental_expiry == NOW + timedelta(days=30)
    assert response.redirect_chain == [("/accounts/me/", 302)]
    assert f"Your rental runs until {shown(NOW + timedelta(days=30))}" in text(response)
    code.refresh_from_db()
    assert (code.status, code.user, code.used_at) == (CodeStatus.USED, customer, NOW)


def test_an_active_customer_gets_the_plan_after_the_current_expiry(frozen_clock, page, customer,
                                                                   make_code):
    customer.rental_state, customer.rental_expiry = RentalState.ACTIVE, NOW + timedelta(days=10)
    customer.save()
    code = make_code(5)

    page.post("/billing/activate/", {"code": code.display})

    customer.refresh_from_db()
    assert customer.rental_expiry == NOW + timedelta(days=15)


def test_a_lapsed_rental_restarts_from_now(frozen_clock, page, customer, make_code):
    customer.rental_state, customer.rental_expiry = RentalState.SUSPENDED, NOW - timedelta(days=3)
    customer.save()

    page.post("/billing/activate/", {"code": make_code(30).display})

    customer.refresh_from_db()
    assert customer.rental_state == RentalState.ACTIVE
    assert customer.rental_expiry == NOW + timedelta(days=30)


def test_a_first_activation_mails_activation_succeeded(page, customer, make_code):
    page.post("/billing/activate/", {"code": make_code().display})

    mails = OutboundEmail.objects.filter(to=customer.email)
    assert list(mails.values_list("template", flat=True)) == ["activation-succeeded"]


def test_a_renewal_mails_renewal_succeeded(page, customer, make_code):
    page.post("/billing/activate/", {"code": make_code().display})
    page.post("/billing/activate/", {"code": make_code().display})

    templates = OutboundEmail.objects.filter(to=customer.email).order_by("pk")
    assert list(templates.values_list("template", flat=True)) == ["activation-succeeded",
                                                                  "renewal-succeeded"]


def test_a_distributors_code_makes_the_customer_their_referral(page, customer, distributor,
                                                                make_code):
    code = make_code(created_by=distributor)

    page.post("/billing/activate/", {"code": code.display})

    referral = Referral.objects.get(user=customer)
    assert (referral.distributor, referral.code) == (distributor, code)


def test_an_operators_code_makes_no_referral(page, customer, make_code):
    page.post("/billing/activate/", {"code": make_code().display})
    assert not Referral.objects.filter(user=customer).exists()


def test_a_mistyped_code_is_refused_before_any_code_lookup(page, customer, make_code):
    code = make_code()

    with CaptureQueriesContext(connection) as queries:
        response = page.post("/billing/activate/", {"code": mistyped(code.code)})

    assert response.status_code == 400
    assert "This is not a valid code; check it for typos." in text(response)
    assert code_lookups(queries.captured_queries) == []
    code.refresh_from_db()
    assert code.status == CodeStatus.UNUSED


def test_a_well_formed_unknown_code_is_looked_up_and_refused_with_404(page, make_code):
    """The other side of the typo test: a code that passes the checksum does reach the table."""
    code = make_code()
    code.delete()

    with CaptureQueriesContext(connection) as queries:
        response = page.post("/billing/activate/", {"code": code.display})

    assert response.status_code == 404
    assert "No such code." in text(response)
    assert code_lookups(queries.captured_queries)


def test_someone_elses_used_code_is_409(page, stranger, make_code):
    code = make_code()
    signed_in_client(stranger).post("/billing/activate/", {"code": code.display})

    response = page.post("/billing/activate/", {"code": code.display})

    assert response.status_code == 409
    assert "This code has already been used." in text(response)


def test_my_own_used_code_is_409_and_does_not_extend_twice(page, customer, make_code):
    code = make_code()
    page.post("/billing/activate/", {"code": code.display})
    customer.refresh_from_db()
    expiry = customer.rental_expiry

    response = page.post("/billing/activate/", {"code": code.display})

    assert response.status_code == 409
    assert "You have already activated this code." in text(response)
    customer.refresh_from_db()
    assert customer.rental_expiry == expiry


@pytest.mark.parametrize(("fields", "message"), [
    ({"status": CodeStatus.REVOKED}, "This code has been revoked."),
    ({"status": CodeStatus.EXPIRED}, "This code has expired."),
    ({"expires_at": NOW - timedelta(seconds=1)}, "This code has expired."),
])
def test_revoked_and_expired_codes_are_410(frozen_clock, page, customer, make_code, fields, message):
    code = make_code(**fields)

    response = page.post("/billing/activate/", {"code": code.display})

    assert response.status_code == 410
    assert message in text(response)
    customer.refresh_from_db()
    assert customer.rental_state == RentalState.NONE


def test_an_unverified_customer_is_403(make_code):
    newbie = UserFactory(username="newbie", email_verified=False)
    code = make_code()

    response = signed_in_client(newbie).post("/billing/activate/", {"code": code.display})

    assert response.status_code == 403
    assert "Verify your e-mail address before activating a code." in text(response)
    code.refresh_from_db()
    assert code.status == CodeStatus.UNUSED


@pytest.mark.parametrize("data", [{}, {"code": ""}, {"code": "x" * 65}])
def test_a_missing_or_oversized_code_is_400(page, data):
    response = page.post("/billing/activate/", data)
    assert response.status_code == 400
    assert 'class="error' in text(response)
