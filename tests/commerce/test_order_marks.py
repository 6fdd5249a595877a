"""Operators mark orders: admins a customer's order's progress; money marks are the super admin's."""

import pytest

from apps.audit.models import AuditEvent
from apps.billing import services
from apps.billing.models import LedgerEntry, LedgerKind, Order, OrderKind, OrderStatus
from apps.distribution import services as distribution
from apps.distribution.models import CodeStatus
from tests.commerce.conftest import plan
from tests.commerce.helpers import refused, snapshot
from tests.conftest import token_client


def mark(user, order, status, reference=""):
    return token_client(user).post(f"/api/orders/{order.number}/mark",
                                   {"status": status, "reference": reference}, format="json")


@pytest.fixture
def pending_purchase(customer):
    return Order.objects.create(buyer=customer, kind=OrderKind.PURCHASE, plan=plan(30),
                                list_price_fen=3_900, amount_fen=3_900)


@pytest.fixture
def pending_batch(reseller):
    """Five codes bought on account: the order waits for the money, the codes are unpaid."""
    _batch, order = distribution.generate_codes(actor=reseller, plan=plan(30), quantity=5,
                                               pay_with_balance=False)
    return order


def test_an_admin_cancels_a_customers_pending_order(admin_user, pending_purchase):
    response = mark(admin_user, pending_purchase, "cancelled")
    assert response.status_code == 200
    assert response.json()["order"]["status"] == "cancelled"
    pending_purchase.refresh_from_db()
    assert pending_purchase.status == OrderStatus.CANCELLED
    event = AuditEvent.objects.get(action="billing.order_marked")
    assert (event.actor, event.details["from"], event.details["to"]) == (admin_user, "pending",
                                                                         "cancelled")


def test_an_admin_completes_a_customers_order_and_then_marks_it_renewed(admin_user, pending_purchase):
    assert mark(admin_user, pending_purchase, "completed").status_code == 200
    assert mark(admin_user, pending_purchase, "renewed").status_code == 200
    pending_purchase.refresh_from_db()
    assert pending_purchase.status == OrderStatus.RENEWED
    assert pending_purchase.completed_at is not None


def test_a_mark_the_order_cannot_take_is_a_conflict(admin_user, pending_purchase):
    mark(admin_user, pending_purchase, "cancelled")
    before = snapshot()
    refused(mark(admin_user, pending_purchase, "completed"), 409, "invalid_transition")
    assert snapshot() == before


@pytest.mark.parametrize("status", ["bogus", "", "PENDING", 3])
def test_an_unknown_mark_is_refused(admin_user, pending_purchase, status):
    before = snapshot()
    refused(mark(admin_user, pending_purchase, status), 400)
    assert snapshot() == before


def test_an_unknown_order_number_is_not_found(superadmin):
    refused(token_client(superadmin).post("/api/orders/NOPE/mark", {"status": "cancelled"},
                                          format="json"), 404)


def test_an_admin_cannot_complete_a_distributors_batch(admin_user, pending_batch):
    before = snapshot()
    refused(mark(admin_user, pending_batch, "completed", "bank 9"), 404)
    assert snapshot() == before


def test_an_admin_cannot_refund(admin_user, customer, fund):
    fund(customer, 1_000)
    order = services.purchase_plan(user=customer, plan=plan(3))
    before = snapshot()
    refused(mark(admin_user, order, "refunded"), 403)
    assert snapshot() == before


def test_a_super_admin_completes_a_batch_with_the_payment_reference_and_its_codes_become_paid(
        superadmin, pending_batch):
    assert not pending_batch.codes.filter(paid=True).exists()
    response = mark(superadmin, pending_batch, "completed", "transfer 2030-0042")
    assert response.status_code == 200
    pending_batch.refresh_from_db()
    assert pending_batch.status == OrderStatus.COMPLETED
    assert pending_batch.payment_reference == "transfer 2030-0042"
    assert pending_batch.completed_at is not None
    assert pending_batch.codes.filter(paid=True).count() == 5


def test_completing_a_batch_needs_the_payment_reference(superadmin, pending_batch):
    before = snapshot()
    refused(mark(superadmin, pending_batch, "completed"), 400, "reference_required")
    assert snapshot() == before


def test_cancelling_a_pending_batch_revokes_its_unused_codes(superadmin, pending_batch, customer):
    used = pending_batch.codes.first()
    distribution.redeem(user=customer, raw_code=used.code)
    assert mark(superadmin, pending_batch, "cancelled").status_code == 200
    statuses = dict(pending_batch.codes.values_list("pk", "status"))
    assert statuses.pop(used.pk) == CodeStatus.USED
    assert set(statuses.values()) == {CodeStatus.REVOKED}
    assert not pending_batch.codes.filter(paid=True).exists()


def test_a_refund_of_a_balance_paid_order_credits_the_balance_with_a_ledger_entry(superadmin, customer,
                                                                                 fund):
    fund(customer, 5_000)
    order = services.purchase_plan(user=customer, plan=plan(30))
    assert services.balance_of(customer) == 1_100
    assert mark(superadmin, order, "refunded", "ticket 7").status_code == 200
    assert services.balance_of(customer) == 5_000
    refund = LedgerEntry.objects.get(kind=LedgerKind.REFUND)
    assert (refund.order, refund.amount_fen, refund.balance_after_fen, refund.reference) == (
        order, 3_900, 5_000, "ticket 7")
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


def test_a_refunded_batch_paid_from_the_balance_returns_the_money_and_revokes_unused_codes(
        superadmin, reseller, fund):
    fund(reseller, 10_000)
    _batch, order = distribution.generate_codes(actor=reseller, plan=plan(3), quantity=2)
    assert mark(superadmin, order, "refunded").status_code == 200
    assert services.balance_of(reseller) == 10_000
    assert set(order.codes.values_list("status", flat=True)) == {CodeStatus.REVOKED}
