"""/billing/buy/: the plans on sale, the review of the order (total, balance after) and paying
from the balance once it is confirmed."""

from datetime import timedelta

import pytest

from apps.accounts.models import RentalState
from apps.billing.models import Coupon, CouponKind, LedgerEntry, Order, OrderKind, Plan
from apps.billing.services import balance_of
from apps.notifications.models import OutboundEmail
from tests.billing.conftest import NOW, buy_from_page, plan, review_purchase, text


def buy(page, days: int, coupon: str = "", **extra):
    return buy_from_page(page, days, coupon, **extra)


def customer_orders(customer):
    return Order.objects.filter(buyer=customer).exclude(kind=OrderKind.TOP_UP)


def test_the_page_lists_the_plans_on_sale_with_prices(page):
    Plan.objects.filter(duration_days=180).update(active=False)

    body = text(page.get("/billing/buy/"))

    for name, price in [("3 天", "¥6.00"), ("30 天", "¥39.00"),
                        ("360 天", "¥359.00")]:
        assert name in body
        assert price in body
    assert "180 天" not in body
    assert 'name="coupon"' in body


def test_a_new_customer_is_offered_to_buy(page):
    body = text(page.get("/billing/buy/"))
    assert "Buy a plan" in body
    assert "Review the order" in body
    assert "Renew" not in body


def test_a_customer_with_a_rental_is_offered_to_renew(page, customer):
    customer.rental_state = RentalState.SUSPENDED
    customer.save()

    body = text(page.get("/billing/buy/"))

    assert "Renew my rental" in body
    assert "Review the order" in body
    assert "Buy a plan" not in body


def test_the_review_shows_the_total_and_the_balance_after_and_buys_nothing(page, customer, fund,
                                                                          make_coupon):
    fund(customer, 100_00)
    make_coupon("SPRING", kind=CouponKind.PERCENT, value=10)

    response = review_purchase(page, 30, coupon="spring")

    assert response.status_code == 200
    body = text(response)
    assert "Review your order" in body
    assert "¥39.00" in body and "−¥3.90" in body and "¥35.10" in body
    assert "Coupon SPRING" in body
    assert '<dd class="balance">¥100.00</dd>' in body
    assert '<dd class="balance-after">¥64.90</dd>' in body
    assert "Confirm and pay" in body and ">Back</button>" in body
    assert not customer_orders(customer).exists()
    assert balance_of(customer) == 100_00
    assert Coupon.objects.get(code="SPRING").used_count == 0


def test_the_review_without_a_coupon_shows_the_list_price(page):
    response = review_purchase(page, 5)
    assert response.status_code == 402  # a new customer's balance is empty
    assert "You pay" in text(response)
    assert "¥9.00" in text(response)


def test_a_review_the_balance_does_not_cover_offers_no_confirm(page, customer, fund):
    fund(customer, 10_00)

    response = review_purchase(page, 30)

    assert response.status_code == 402
    body = text(response)
    assert "Your balance does not cover this yet." in body
    assert "Confirm and pay" not in body
    assert '<dd class="balance-after">-¥29.00</dd>' in body


def test_back_returns_to_the_form_with_the_choice_kept(page, customer, fund):
    fund(customer, 100_00)

    response = page.post("/billing/buy/", {"plan": plan(30).pk, "coupon": "SPRING",
                                           "action": "edit"})

    assert response.status_code == 200
    body = text(response)
    assert f'<option value="{plan(30).pk}" selected>' in body
    assert 'value="SPRING"' in body
    assert 'class="error' not in body
    assert not customer_orders(customer).exists()


def test_buying_without_a_coupon(frozen_clock, page, customer, fund):
    fund(customer, 100_00)

    response = buy(page, 30, follow=True)

    order = customer_orders(customer).get()
    assert (order.kind, order.plan.duration_days, order.amount_fen) == (OrderKind.PURCHASE, 30, 39_00)
    assert order.coupon is None and order.paid_from_balance
    assert balance_of(customer) == 61_00
    payment = LedgerEntry.objects.get(order=order)
    assert (payment.amount_fen, payment.balance_after_fen) == (-39_00, 61_00)
    customer.refresh_from_db()
    assert customer.rental_state == RentalState.ACTIVE
    assert customer.rental_expiry == NOW + timedelta(days=30)
    assert response.redirect_chain == [("/accounts/me/", 302)]
    assert f"Order {order.number} paid: ¥39.00." in text(response)
    assert OutboundEmail.objects.filter(to=customer.email, template="activation-succeeded").exists()


@pytest.mark.parametrize(("kind", "value", "discount"), [(CouponKind.PERCENT, 15, 5_85),
                                                          (CouponKind.FIXED, 5_00, 5_00)])
def test_buying_with_a_coupon(page, customer, fund, make_coupon, kind, value, discount):
    fund(customer, 100_00)
    coupon = make_coupon("WELCOME", kind=kind, value=value, max_uses=10)

    buy(page, 30, coupon=" welcome ")

    order = customer_orders(customer).get()
    assert order.coupon == coupon
    assert (order.list_price_fen, order.coupon_discount_fen, order.amount_fen) == (
        39_00, discount, 39_00 - discount)
    assert balance_of(customer) == 100_00 - (39_00 - discount)
    coupon.refresh_from_db()
    assert coupon.used_count == 1


def test_a_coupon_worth_the_whole_price_buys_for_nothing(page, customer, make_coupon):
    make_coupon("GIFT", kind=CouponKind.FIXED, value=100_00)

    response = buy(page, 30, coupon="GIFT")

    assert response.status_code == 302
    assert customer_orders(customer).get().amount_fen == 0
    assert not LedgerEntry.objects.filter(wallet__owner=customer).exists()


def test_buying_with_a_rental_is_a_renewal_from_the_current_expiry(frozen_clock, page, customer, fund):
    customer.rental_state, customer.rental_expiry = RentalState.ACTIVE, NOW + timedelta(days=2)
    customer.save()
    fund(customer, 100_00)

    buy(page, 30)

    assert customer_orders(customer).get().kind == OrderKind.RENEWAL
    customer.refresh_from_db()
    assert customer.rental_expiry == NOW + timedelta(days=32)
    assert OutboundEmail.objects.filter(to=customer.email, template="renewal-succeeded").exists()


def test_insufficient_balance_is_402_and_changes_nothing(frozen_clock, page, customer, fund,
                                                         make_coupon):
    customer.rental_state, customer.rental_expiry = RentalState.ACTIVE, NOW + timedelta(days=2)
    customer.save()
    fund(customer, 10_00)
    coupon = make_coupon("SPRING", value=10)
    entries = LedgerEntry.objects.filter(wallet__owner=customer).count()

    response = buy(page, 30, coupon="SPRING")

    assert response.status_code == 402
    body = text(response)
    assert "Your balance (¥10.00) does not cover ¥35.10. Top up first." in body
    assert "contact support" in body
    assert balance_of(customer) == 10_00
    assert LedgerEntry.objects.filter(wallet__owner=customer).count() == entries
    assert not customer_orders(customer).exists()
    customer.refresh_from_db()
    assert customer.rental_expiry == NOW + timedelta(days=2)
    coupon.refresh_from_db()
    assert coupon.used_count == 0
    assert not coupon.redemptions.exists()


def test_a_plan_not_on_sale_is_refused(page, customer, fund):
    fund(customer, 1000_00)
    Plan.objects.filter(duration_days=30).update(active=False)

    response = buy(page, 30)

    assert response.status_code == 400
    assert 'class="error' in text(response)
    assert not customer_orders(customer).exists()


@pytest.mark.parametrize("data", [{"action": "pay"}, {"plan": "abc", "action": "pay"},
                                  {"plan": "999999", "action": "pay"},
                                  {"duration_days": "7", "action": "pay"}])
def test_a_bad_plan_choice_is_a_4xx_with_a_message(page, customer, fund, data):
    fund(customer, 1000_00)

    response = page.post("/billing/buy/", data)

    assert response.status_code in (400, 404)
    assert 'class="error' in text(response)
    assert not customer_orders(customer).exists()


def test_an_unverified_customer_cannot_pay(page, customer, fund):
    fund(customer, 100_00)
    customer.email_verified = False
    customer.save()

    response = buy(page, 30)

    assert response.status_code == 403
    assert "Verify your e-mail address first." in text(response)
    assert balance_of(customer) == 100_00
