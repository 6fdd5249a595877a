"""/portal/orders/: the distributor's own orders, with price, discount and amount."""

from django.utils import timezone

from apps.billing import services as billing
from apps.billing.models import Order
from apps.distribution import services


def row_of(text: str, order: Order) -> str:
    row = text[text.index(f'id="order-{order.number}"'):]
    return row[:row.index("</tr>")]


def test_a_paid_batch_and_the_top_up_are_listed(portal, funded, month):
    _codes, batch = services.generate_codes(actor=funded, plan=month, quantity=4)
    top_up = Order.objects.get(buyer=funded, kind="top_up")
    text = portal.get("/portal/orders/").content.decode()
    row = row_of(text, batch)
    for cell in ("Code batch", "Completed", "30 天", "<td>4</td>", "¥156.00", "¥15.60", "¥140.40",
                 timezone.localtime(batch.created_at).strftime("%Y-%m-%d %H:%M")):
        assert cell in row
    assert timezone.localtime(batch.completed_at).strftime("%Y-%m-%d %H:%M") in row
    assert "Top-up" in row_of(text, top_up)
    assert "¥1,000.00" in row_of(text, top_up)
    assert text.index(batch.number) < text.index(top_up.number)  # newest first


def test_a_pending_batch_shows_pending_and_no_completion(portal, dealer, month):
    _codes, batch = services.generate_codes(actor=dealer, plan=month, quantity=1, pay_with_balance=False)
    row = row_of(portal.get("/portal/orders/").content.decode(), batch)
    assert "Pending" in row
    assert row.rstrip().endswith("<td></td>")


def test_other_peoples_orders_never_appear(portal, dealer, rival, month, customer, superadmin):
    _codes, theirs = services.generate_codes(actor=rival, plan=month, quantity=1, pay_with_balance=False)
    customers = billing.top_up(actor=superadmin, user=customer, amount_fen=500, reference="r")
    text = portal.get("/portal/orders/").content.decode()
    assert theirs.number not in text
    assert customers.number not in text
    assert "No orders yet." in text


def test_fifty_orders_a_page(portal, dealer, month):
    for _n in range(51):
        services.generate_codes(actor=dealer, plan=month, quantity=1, pay_with_balance=False)
    first = portal.get("/portal/orders/")
    assert first.content.decode().count('<tr id="order-') == 50
    assert b"Page 1 of 2" in first.content
    assert portal.get("/portal/orders/", {"page": "2"}).content.decode().count('<tr id="order-') == 1
