"""/portal/orders/<number>/: one order, how to pay it while pending, and its batch's codes."""

from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from apps.billing import services as billing
from apps.distribution import services


def url(order) -> str:
    return f"/portal/orders/{order.number}/"


def test_the_order_list_links_each_order(portal, dealer, month):
    _codes, batch = services.generate_codes(actor=dealer, plan=month, quantity=1, pay_with_balance=False)
    assert f'href="{url(batch)}"' in portal.get("/portal/orders/").content.decode()


@override_settings(PAYMENT_INSTRUCTIONS="Alipay: shop@example.com\nBank: 6222 0000")
def test_a_pending_batch_says_how_to_pay_it(portal, dealer, month):
    codes, batch = services.generate_codes(actor=dealer, plan=month, quantity=2, pay_with_balance=False)
    response = portal.get(url(batch))
    assert response.status_code == 200
    text = response.content.decode()
    assert "How to pay this order" in text
    assert "Pay exactly <strong>¥70.20</strong>" in text  # 2 × ¥39.00 less the gold tier's 10%
    assert f'<code id="order-number">{batch.number}</code>' in text
    assert "Alipay: shop@example.com<br>Bank: 6222 0000" in text
    for code in codes:
        assert f'<code id="code-text-{code.pk}">{code.display}</code>' in text
    assert 'data-copy="page-codes"' in text


def test_without_configured_instructions_the_admin_is_named(portal, dealer, month):
    _codes, batch = services.generate_codes(actor=dealer, plan=month, quantity=1, pay_with_balance=False)
    assert b"Ask your admin where to send the payment." in portal.get(url(batch)).content


def test_a_paid_batch_has_no_payment_instructions(portal, funded, month):
    _codes, batch = services.generate_codes(actor=funded, plan=month, quantity=1)
    text = portal.get(url(batch)).content.decode()
    assert "Completed" in text
    assert "How to pay this order" not in text


def test_a_top_up_shows_without_a_codes_section(portal, funded):
    top_up = funded.orders.get(kind="top_up")
    text = portal.get(url(top_up)).content.decode()
    assert "¥1,000.00" in text
    assert "in this batch" not in text


def test_another_distributors_order_is_404(portal, dealer, rival, month):
    codes, theirs = services.generate_codes(actor=rival, plan=month, quantity=1, pay_with_balance=False)
    response = portal.get(url(theirs))
    assert response.status_code == 404
    assert codes[0].display.encode() not in response.content


def test_a_customers_order_is_404(portal, dealer, customer, superadmin):
    order = billing.top_up(actor=superadmin, user=customer, amount_fen=500, reference="r")
    assert portal.get(url(order)).status_code == 404


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_the_page_costs_the_same_queries_for_a_small_and_a_large_batch(portal, dealer, month,
                                                                      activate, customer):
    _codes, small = services.generate_codes(actor=dealer, plan=month, quantity=2,
                                                 pay_with_balance=False)
    large_codes, large = services.generate_codes(actor=dealer, plan=month, quantity=60,
                                                 pay_with_balance=False)
    activate(large_codes[0], customer)
    assert _queries(portal, url(small)) == _queries(portal, url(large))
