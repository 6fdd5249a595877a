"""A super admin, in the browser: tops up a customer's balance in the admin, finding the customer
by typing part of the e-mail (never a list of every account) and typing the amount in yuan, which
the page shows as it will be booked while it is typed."""

from apps.billing import services as billing
from tests.browser import support


def test_topping_up_in_yuan_with_the_customer_searched(page, panel, superadmin, customer, stranger,
                                                      console_errors):
    support.sign_in(page.context, superadmin, panel=panel)

    page.goto("/admin/billing/wallet/top-up/")
    assert customer.email not in page.content() and stranger.email not in page.content()
    page.click(".select2-selection")
    page.fill(".select2-search__field", customer.email[:4])
    page.click(f".select2-results__option >> text={customer}")
    page.fill("#id_amount", "12.5")
    assert page.inner_text("#id_amount-preview") == "¥12.50"
    page.fill("#id_amount", "12.345")
    assert page.inner_text("#id_amount-preview") != "¥12.35"  # not an amount: no rounding
    page.fill("#id_amount", "1,234.5")
    assert page.inner_text("#id_amount-preview") == "¥1,234.50"
    page.fill("#id_reference", "bank 7")
    page.click("form input[type=submit]")
    page.wait_for_url("**/admin/billing/wallet/")

    assert billing.balance_of(customer) == 123_450
    assert billing.balance_of(stranger) == 0
    assert console_errors == []
