"""A distributor, in the browser: buys a batch of codes from the balance through the review step
(total, balance after, Back keeps the choice, a double click on Confirm buys once) and copies them.

The portal has no copy button for the codes yet: the batch is copied the way the page offers
today, from its all-codes text box."""

import pytest

from apps.billing import services as billing
from apps.billing.models import Order
from apps.distribution.models import ActivationCode
from tests.browser import support


@pytest.fixture
def dealer(distributor, admin_user, superadmin):
    """A distributor with a 10%-off tier and ¥1,000.00 on the balance."""
    support.distributor_profile(distributor, owner=admin_user)
    billing.top_up(actor=superadmin, user=distributor, amount_fen=100_000, reference="bank 1")
    return distributor


def test_buying_a_batch_from_the_balance_and_copying_the_codes(page, panel, dealer, console_errors):
    month = support.plan(30, name="Month", price_fen=3900)
    support.sign_in(page.context, dealer, panel=panel)

    page.goto("/portal/")
    page.click(".subnav >> text=Generate codes")
    page.wait_for_url("**/portal/codes/generate/")
    page.select_option("#id_plan", str(month.pk))
    page.fill("#id_quantity", "3")
    page.check("#id_pay_with_balance")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".review")  # the review: nothing bought yet

    total = 3 * 3900 * 90 // 100
    assert page.inner_text(".review .total") == billing.format_fen(total)
    assert page.inner_text(".review .balance-after") == billing.format_fen(100_000 - total)
    assert not Order.objects.filter(buyer=dealer, kind="code_batch").exists()
    page.click(".review >> text=Back")
    page.wait_for_selector("#id_quantity")
    assert page.input_value("#id_quantity") == "3"
    page.click("main form button[type=submit]")
    page.wait_for_selector(".review")
    page.dblclick(".review button.primary")  # a double click on Confirm
    page.wait_for_url("**/portal/codes/generated/*/")

    shown = page.locator(".new-codes code").all_inner_texts()
    bought = ActivationCode.objects.filter(created_by=dealer).order_by("pk")
    assert shown == [code.display for code in bought] and len(shown) == 3
    assert all(code.paid for code in bought)
    assert Order.objects.filter(buyer=dealer, kind="code_batch").count() == 1
    assert billing.balance_of(dealer) == 100_000 - total
    assert page.inner_text(".amount") == billing.format_fen(total)

    page.click("#codes-text")
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.press("ControlOrMeta+C")
    assert page.evaluate("navigator.clipboard.readText()").split() == shown

    page.click(".subnav >> text=My codes")
    page.wait_for_url("**/portal/codes/")
    listed = page.inner_text("main")
    assert all(code in listed for code in shown)
    assert console_errors == []
