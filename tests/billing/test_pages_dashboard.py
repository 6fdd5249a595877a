"""/accounts/me/ ("My rental"): state and expiry, a code form, buy or renew, balance and orders.

Balance and latest orders come from /billing/summary/, which the page loads with htmx.
"""

from datetime import timedelta

from apps.accounts.models import RentalState
from apps.billing.models import Order, OrderKind
from tests.billing.conftest import NOW, buy_from_page, text
from tests.conftest import signed_in_client


def test_a_new_customer_sees_no_rental_and_an_offer_to_buy(page):
    body = text(page.get("/accounts/me/"))
    assert '<dd class="rental-state">No rental</dd>' in body
    assert '<dd class="rental-expiry">—</dd>' in body
    assert '<a class="buy" href="/billing/buy/">Or buy a plan from your balance</a>' in body


def test_an_active_customer_sees_the_expiry_and_an_offer_to_renew(frozen_clock, page, customer):
    customer.rental_state, customer.rental_expiry = RentalState.ACTIVE, NOW + timedelta(days=30)
    customer.save()

    body = text(page.get("/accounts/me/"))

    assert '<dd class="rental-state">Active</dd>' in body
    assert '<dd class="rental-expiry">2030-02-09 12:00</dd>' in body  # Asia/Shanghai
    assert '<a class="buy" href="/billing/buy/">Renew from your balance</a>' in body


def test_the_code_form_posts_to_the_activation_page(page, customer, make_code):
    body = text(page.get("/accounts/me/"))
    assert 'action="/billing/activate/"' in body
    assert 'name="code"' in body and 'name="csrfmiddlewaretoken"' in body

    client = signed_in_client(customer)
    client.handler.enforce_csrf_checks = True
    form_page = client.get("/accounts/me/")
    token = form_page.context["csrf_token"]
    response = client.post("/billing/activate/", {"code": make_code().display,
                                                  "csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302


def test_the_page_loads_the_billing_summary(page):
    body = text(page.get("/accounts/me/"))
    assert 'hx-get="/billing/summary/"' in body
    assert 'hx-trigger="load"' in body


def test_the_summary_shows_the_balance_and_the_latest_orders(page, customer, stranger, fund):
    fund(customer, 100_00)
    buy_from_page(page, 30)
    theirs = fund(stranger, 55_00)

    response = page.get("/billing/summary/", headers={"hx-request": "true"})

    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body  # a fragment for the page, not a page
    assert '<dd class="balance">¥61.00' in body
    for order in Order.objects.filter(buyer=customer):
        assert order.number in body
    assert theirs.number not in body


def test_the_summary_keeps_to_the_five_latest_orders(page, customer, fund):
    orders = [fund(customer, n * 100) for n in range(1, 8)]

    body = text(page.get("/billing/summary/"))

    assert [o.number in body for o in orders] == [False, False, True, True, True, True, True]
    assert 'href="/billing/orders/"' in body


def test_staff_and_distributors_see_no_customer_forms(personas):
    for persona in ("superadmin", "admin", "distributor"):
        body = text(signed_in_client(personas[persona]).get("/accounts/me/"))
        assert "/billing/summary/" not in body
        assert 'action="/billing/activate/"' not in body


def test_an_activation_shows_up_on_the_page(page, customer, make_code):
    response = page.post("/billing/activate/", {"code": make_code(30).display}, follow=True)
    body = text(response)
    assert '<dd class="rental-state">Active</dd>' in body
    assert "Code activated: 30 days added." in body
    assert not Order.objects.filter(buyer=customer, kind=OrderKind.PURCHASE).exists()
