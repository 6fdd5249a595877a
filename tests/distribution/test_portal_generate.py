"""/portal/codes/generate/: buy a batch at the tier's discount, from the balance or on account,
through a review of the total and the balance after (confirmed at /portal/codes/generate/confirm/)."""

import re

import pytest

from apps.billing import services as billing
from apps.billing.models import LedgerEntry, Order, Plan
from apps.distribution.models import ActivationCode
from tests.conftest import signed_in_client

from .conftest import FUNDS_FEN, buy_batch


def shown_codes(response) -> list[str]:
    return re.findall(r"<li><code>([0-9A-Z-]{29})</code></li>", response.content.decode())


def test_the_form_offers_plans_on_sale_with_price_and_the_discount(portal, funded):
    Plan.objects.filter(duration_days=5).update(active=False)
    text = portal.get("/portal/codes/generate/").content.decode()
    assert "30 天 — ¥39.00</option>" in text
    assert "5 天" not in text
    assert '<dd class="discount">10%</dd>' in text
    assert '<dd class="balance">¥1,000.00</dd>' in text


def test_paying_from_the_balance_makes_paid_codes_and_a_completed_order(portal, funded, month):
    response = buy_batch(portal, {"plan": month.pk, "quantity": "3", "pay_with_balance": "on"},
                         follow=True)
    assert response.status_code == 200
    order = Order.objects.get(buyer=funded, kind="code_batch")
    # 3 × ¥39.00 = ¥117.00, less 10% = ¥105.30
    assert (order.status, order.quantity, order.list_price_fen, order.discount_fen,
            order.amount_fen, order.paid_from_balance) == ("completed", 3, 11700, 1170, 10530, True)
    codes = ActivationCode.objects.filter(created_by=funded)
    assert codes.count() == 3
    assert all(c.paid and c.order_id == order.pk and c.plan_id == month.pk for c in codes)
    assert billing.balance_of(funded) == FUNDS_FEN - 10530
    assert LedgerEntry.objects.get(order=order).amount_fen == -10530
    assert sorted(shown_codes(response)) == sorted(c.display for c in codes)
    assert "¥105.30" in response.content.decode()


def test_without_the_balance_the_order_waits_and_the_codes_are_unpaid(portal, funded, month):
    response = buy_batch(portal, {"plan": month.pk, "quantity": "2"}, follow=True)
    assert response.status_code == 200
    order = Order.objects.get(buyer=funded, kind="code_batch")
    assert (order.status, order.amount_fen, order.paid_from_balance) == ("pending", 7020, False)
    codes = ActivationCode.objects.filter(created_by=funded)
    assert codes.count() == 2
    assert not any(c.paid for c in codes)
    assert billing.balance_of(funded) == FUNDS_FEN
    assert b"waiting for payment" in response.content


def test_a_distributor_without_money_can_still_order_on_account(portal, month):
    response = buy_batch(portal, {"plan": month.pk, "quantity": "1"})
    assert response.status_code == 302
    assert Order.objects.get(buyer__username="reseller").status == "pending"


def test_the_new_codes_are_shown_once_and_stay_in_the_list(portal, funded, month):
    response = buy_batch(portal, {"plan": month.pk, "quantity": "2", "pay_with_balance": "on"})
    assert response.status_code == 302
    result_page = response["Location"]
    first = portal.get(result_page)
    assert len(shown_codes(first)) == 2
    again = portal.get(result_page)
    assert again.status_code == 302
    assert again["Location"] == "/portal/codes/"
    listing = portal.get("/portal/codes/").content.decode()
    assert all(code in listing for code in shown_codes(first))


def test_insufficient_balance_is_402_and_changes_nothing(portal, dealer, superadmin, month):
    billing.top_up(actor=superadmin, user=dealer, amount_fen=3000, reference="bank 2")
    response = buy_batch(portal, {"plan": month.pk, "quantity": "1", "pay_with_balance": "on"})
    assert response.status_code == 402
    assert b"does not cover" in response.content
    assert b"Top up first" in response.content
    assert not ActivationCode.objects.exists()
    assert not Order.objects.filter(kind="code_batch").exists()
    assert billing.balance_of(dealer) == 3000
    assert LedgerEntry.objects.filter(wallet__owner=dealer).count() == 1


@pytest.mark.parametrize(("quantity", "message"), [
    ("0", "greater than or equal to 1"),
    ("1001", "less than or equal to 1000"),
    ("abc", "Enter a whole number"),
    ("2.5", "Enter a whole number"),
    ("-3", "greater than or equal to 1"),
])
def test_a_bad_quantity_is_400_with_a_message(portal, funded, month, quantity, message):
    response = portal.post("/portal/codes/generate/",
                           {"plan": month.pk, "quantity": quantity, "pay_with_balance": "on"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ActivationCode.objects.exists()
    assert not Order.objects.filter(kind="code_batch").exists()
    assert billing.balance_of(funded) == FUNDS_FEN


@pytest.mark.parametrize("plan", ["999999", "abc", ""])
def test_an_unknown_plan_is_400_with_a_message(portal, funded, plan):
    response = portal.post("/portal/codes/generate/",
                           {"plan": plan, "quantity": "1", "pay_with_balance": "on"})
    assert response.status_code == 400
    assert b'class="error"' in response.content
    assert not ActivationCode.objects.exists()
    assert billing.balance_of(funded) == FUNDS_FEN


def test_a_plan_taken_off_sale_cannot_be_bought(portal, funded):
    retired = Plan.objects.get(duration_days=5)
    retired.active = False
    retired.save()
    response = portal.post("/portal/codes/generate/",
                           {"plan": retired.pk, "quantity": "1", "pay_with_balance": "on"})
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    assert not ActivationCode.objects.exists()


@pytest.mark.parametrize("form", [{"quantity": ""}, {"quantity": "  "}, {}])
def test_a_blank_quantity_is_400_with_the_form_never_one_code(portal, funded, month, form):
    response = portal.post("/portal/codes/generate/", {"plan": month.pk, "pay_with_balance": "on",
                                                      **form})
    assert response.status_code == 400
    assert "Say how many codes you want." in response.content.decode()
    assert 'name="quantity"' in response.content.decode()
    assert not ActivationCode.objects.exists()
    assert billing.balance_of(funded) == FUNDS_FEN


def test_without_a_tier_the_form_is_withheld_and_a_post_refused(distributor, month):
    client = signed_in_client(distributor)
    page = client.get("/portal/codes/generate/")
    assert b"Your admin must assign you a tier" in page.content
    assert b"<form method=\"post\"" not in page.content
    response = client.post("/portal/codes/generate/", {"plan": month.pk, "quantity": "1"})
    assert response.status_code == 403
    assert b"no tier yet" in response.content
    assert not ActivationCode.objects.exists()
    assert not Order.objects.exists()
