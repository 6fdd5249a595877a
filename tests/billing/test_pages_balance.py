"""/billing/balance/: the balance and its ledger, the customer's own entries only."""

from apps.billing.models import Order, OrderKind
from tests.billing.conftest import buy_from_page, text
from tests.conftest import signed_in_client


def test_the_balance_and_every_entry_with_kind_amount_balance_after_and_order(page, customer, fund):
    top_up = fund(customer, 100_00)
    buy_from_page(page, 30)
    purchase = Order.objects.get(buyer=customer, kind=OrderKind.PURCHASE)

    body = text(page.get("/billing/balance/"))

    assert '<dd class="balance">¥61.00</dd>' in body
    for shown in ["Top-up", "¥100.00", "Payment", "-¥39.00", "¥61.00", top_up.number, purchase.number,
                  "bank 42"]:
        assert shown in body
    assert body.index(purchase.number) < body.index(top_up.number)  # newest first


def test_an_empty_balance(page):
    body = text(page.get("/billing/balance/"))
    assert '<dd class="balance">¥0.00</dd>' in body
    assert "No entries yet." in body
    assert "contact support" in body


def test_the_strangers_entries_never_appear(page, customer, stranger, fund):
    fund(customer, 10_00)
    theirs = fund(stranger, 4321_00)
    buy_from_page(signed_in_client(stranger), 3)

    body = text(page.get("/billing/balance/"))

    assert "¥10.00" in body
    assert theirs.number not in body
    assert "4,321.00" not in body and "4,315.00" not in body


def test_times_show_in_shanghai(frozen_clock, page, customer, fund):
    fund(customer, 10_00)  # booked at 04:00 UTC
    assert "2030-01-10 12:00" in text(page.get("/billing/balance/"))
