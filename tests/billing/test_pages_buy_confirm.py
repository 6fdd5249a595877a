"""/billing/buy/confirm/: the confirmation buys what the review showed, for the total it showed,
once; a stale, forged or borrowed review buys nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.billing.models import LedgerEntry, Order, OrderKind, Plan
from apps.billing.services import balance_of
from tests.billing.conftest import plan, review_purchase, review_token, text
from tests.conftest import signed_in_client
from tests.project.csp import assert_csp_clean


def confirm(client, token: str, days: int = 30):
    return client.post("/billing/buy/confirm/", {"review": token, "plan": plan(days).pk})


def bought(customer):
    return Order.objects.filter(buyer=customer).exclude(kind=OrderKind.TOP_UP)


@pytest.fixture
def reviewed(page, customer, fund):
    """A customer with ¥100.00 looking at the review of the 30-day plan (¥39.00)."""
    fund(customer, 100_00)
    return review_token(review_purchase(page, 30))


def test_confirming_buys_what_was_reviewed(page, customer, reviewed):
    response = confirm(page, reviewed)

    assert response.status_code == 302
    order = bought(customer).get()
    assert (order.plan.duration_days, order.amount_fen) == (30, 39_00)
    assert order.request_key  # the review it was confirmed from
    assert balance_of(customer) == 61_00


def test_confirming_twice_buys_once(page, customer, reviewed):
    first = confirm(page, reviewed)
    second = confirm(page, reviewed)

    assert (first.status_code, second.status_code) == (302, 302)
    assert bought(customer).count() == 1
    assert LedgerEntry.objects.filter(wallet__owner=customer, amount_fen__lt=0).count() == 1
    assert balance_of(customer) == 61_00


def test_reviewing_again_is_a_new_purchase(page, customer, reviewed):
    confirm(page, reviewed)
    confirm(page, review_token(review_purchase(page, 30)))

    assert bought(customer).count() == 2
    assert balance_of(customer) == 22_00


def test_a_price_change_after_the_review_charges_nothing_and_shows_the_new_total(page, customer,
                                                                                reviewed):
    Plan.objects.filter(duration_days=30).update(price_fen=45_00)

    response = confirm(page, reviewed)

    assert response.status_code == 409
    body = text(response)
    assert "The price changed since you reviewed it: the total is now ¥45.00, not ¥39.00." in body
    assert '<dd class="total"><strong>¥45.00</strong></dd>' in body
    assert not bought(customer).exists()
    assert balance_of(customer) == 100_00
    assert confirm(page, review_token(response)).status_code == 302  # the new review stands
    assert bought(customer).get().amount_fen == 45_00


def test_the_plan_taken_off_sale_after_the_review_is_refused(page, customer, reviewed):
    Plan.objects.filter(duration_days=30).update(active=False)

    response = confirm(page, reviewed)

    assert response.status_code == 404
    assert "This plan is not on sale." in text(response)
    assert not bought(customer).exists()


@pytest.mark.parametrize("token", ["", "garbage", "eyJidXllciI6MX0:forged:sig"])
def test_a_missing_or_forged_review_buys_nothing(page, customer, reviewed, token):
    response = confirm(page, token)

    assert response.status_code == 400
    assert "This review has expired or is not valid." in text(response)
    assert not bought(customer).exists()


def test_a_tampered_review_buys_nothing(page, customer, reviewed):
    response = confirm(page, reviewed[:-3] + ("AAA" if not reviewed.endswith("AAA") else "BBB"))

    assert response.status_code == 400
    assert not bought(customer).exists()


def test_someone_elses_review_buys_nothing(reviewed, stranger, fund):
    fund(stranger, 100_00)

    response = confirm(signed_in_client(stranger), reviewed)

    assert response.status_code == 400
    assert not Order.objects.exclude(kind=OrderKind.TOP_UP).exists()
    assert balance_of(stranger) == 100_00


def test_a_review_left_for_over_half_an_hour_expires(page, customer, reviewed):
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        response = confirm(page, reviewed)

    assert response.status_code == 400
    assert not bought(customer).exists()


def test_the_confirmation_takes_only_a_post(page, reviewed):
    assert page.get("/billing/buy/confirm/", {"review": reviewed}).status_code == 405


def test_the_review_page_keeps_the_content_security_policy(page, customer, fund):
    fund(customer, 100_00)
    assert_csp_clean(review_purchase(page, 30))
