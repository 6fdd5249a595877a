"""Every reason a coupon does not apply is shown in words, on the price check and on payment."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.billing.models import CouponKind, Order, OrderKind
from apps.billing.services import balance_of
from tests.billing.conftest import buy_from_page, plan, review_purchase, text
from tests.conftest import signed_in_client


def unknown(make_coupon, customer):
    make_coupon("REAL")
    return "NOSUCH"


def not_yet_valid(make_coupon, customer):
    make_coupon("SOON", valid_from=timezone.now() + timedelta(days=1))
    return "SOON"


def expired(make_coupon, customer):
    make_coupon("OLD", valid_from=timezone.now() - timedelta(days=9),
                valid_until=timezone.now() - timedelta(days=1))
    return "OLD"


def used_up(make_coupon, customer):
    coupon = make_coupon("GONE", max_uses=2)
    coupon.used_count = 2
    coupon.save()
    return "GONE"


def wrong_plan(make_coupon, customer):
    make_coupon("LONGONLY", plans=[plan(360)])
    return "LONGONLY"


def deactivated(make_coupon, customer):
    make_coupon("PAUSED", active=False)
    return "PAUSED"


REASONS = [
    (unknown, "There is no such coupon."),
    (deactivated, "There is no such coupon."),
    (not_yet_valid, "This coupon is not valid yet."),
    (expired, "This coupon has expired."),
    (used_up, "This coupon has been used up."),
    (wrong_plan, "This coupon does not apply to this plan."),
]


@pytest.fixture
def funded(customer, fund):
    fund(customer, 1000_00)
    return customer


def post(page, coupon: str, action: str, days: int = 30):
    """"review" shows the review page; "pay" reviews and confirms."""
    if action == "review":
        return review_purchase(page, days, coupon)
    return buy_from_page(page, days, coupon)


@pytest.mark.parametrize(("arrange", "message"), REASONS)
@pytest.mark.parametrize("action", ["review", "pay"])
def test_a_refused_coupon_says_why_and_nothing_is_bought(page, funded, make_coupon, arrange, message,
                                                         action):
    code = arrange(make_coupon, funded)

    response = post(page, code, action)

    assert response.status_code == 400
    assert message in text(response)
    assert "You pay" not in text(response)
    assert not Order.objects.filter(buyer=funded).exclude(kind=OrderKind.TOP_UP).exists()
    assert balance_of(funded) == 1000_00


def test_a_plan_restricted_coupon_works_on_its_plan(page, funded, make_coupon):
    make_coupon("LONGONLY", kind=CouponKind.FIXED, value=50_00, plans=[plan(360)])

    response = post(page, "LONGONLY", "review", days=360)

    assert response.status_code == 200
    assert "¥309.00" in text(response)


@pytest.mark.parametrize("action", ["review", "pay"])
def test_a_coupon_works_once_per_customer(page, funded, make_coupon, action):
    make_coupon("ONCE", max_uses=100)
    assert post(page, "ONCE", "pay").status_code == 302

    response = post(page, "ONCE", action)

    assert response.status_code == 400
    assert "You have already used this coupon." in text(response)
    assert Order.objects.filter(buyer=funded).exclude(kind=OrderKind.TOP_UP).count() == 1


def test_another_customer_may_still_use_it(page, funded, stranger, fund, make_coupon):
    make_coupon("ONCE", max_uses=100)
    fund(stranger, 100_00)
    post(page, "ONCE", "pay")

    assert post(signed_in_client(stranger), "ONCE", "pay").status_code == 302


def test_the_last_use_of_a_coupon_goes_to_the_first_buyer(page, funded, stranger, fund, make_coupon):
    make_coupon("LAST", max_uses=1)
    fund(stranger, 100_00)
    assert post(page, "LAST", "pay").status_code == 302

    response = post(signed_in_client(stranger), "LAST", "pay")

    assert response.status_code == 400
    assert "This coupon has been used up." in text(response)
    assert balance_of(stranger) == 100_00
