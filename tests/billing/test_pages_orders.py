"""/billing/orders/: the customer's own orders, never anyone else's."""

from apps.billing.models import CouponKind, Order, OrderKind
from tests.billing.conftest import buy_from_page, text
from tests.conftest import signed_in_client


def test_the_customer_sees_their_orders_with_money_and_status(page, customer, fund, make_coupon):
    fund(customer, 100_00)
    make_coupon("FIVE", kind=CouponKind.FIXED, value=5_00)
    buy_from_page(page, 30, "FIVE")
    order = Order.objects.get(buyer=customer, kind=OrderKind.PURCHASE)

    body = text(page.get("/billing/orders/"))

    assert order.number in body
    for shown in ["Purchase", "Completed", "30 天", "¥39.00", "¥5.00", "¥34.00", "FIVE",
                  "Top-up", "¥100.00"]:
        assert shown in body


def test_the_strangers_orders_never_appear(page, customer, stranger, fund):
    fund(customer, 100_00)
    fund(stranger, 77_00)
    buy_from_page(signed_in_client(stranger), 5)
    theirs = Order.objects.filter(buyer=stranger).values_list("number", flat=True)
    assert len(theirs) == 2

    body = text(page.get("/billing/orders/"))

    assert Order.objects.get(buyer=customer).number in body
    for number in theirs:
        assert number not in body
    assert "¥77.00" not in body


def test_no_orders_yet(page):
    assert "No orders yet." in text(page.get("/billing/orders/"))


def test_the_list_pages(page, customer, fund):
    for _n in range(51):
        fund(customer, 1_00)

    first = text(page.get("/billing/orders/"))
    second = text(page.get("/billing/orders/", {"page": "2"}))

    assert "Page 1 of 2" in first and "?page=2" in first
    assert "Page 2 of 2" in second
    assert text(page.get("/billing/orders/", {"page": "junk"})).count("Top-up") >= 50
