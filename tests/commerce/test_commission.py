"""A distributor earns commission when a customer they brought in later buys directly."""

import pytest

from apps.audit.models import AuditEvent
from apps.billing import services
from apps.billing.models import (
    Commission,
    CommissionSettlement,
    CommissionStatus,
    LedgerEntry,
    LedgerKind,
    Plan,
)
from apps.distribution import services as distribution
from tests.commerce.conftest import plan
from tests.commerce.helpers import refused, snapshot
from tests.conftest import token_client


@pytest.fixture
def brought_in(customer, reseller, fund, make_code):
    """The customer activated one of the reseller's codes and has money for more."""
    distribution.redeem(user=customer, raw_code=make_code(created_by=reseller).code)
    fund(customer, 100_000)
    return customer


def settle(superadmin, distributor, method="credit", reference=""):
    return token_client(superadmin).post(
        "/api/finance/commission/settle",
        {"distributor_id": distributor.pk, "method": method, "reference": reference}, format="json")


def test_a_direct_purchase_accrues_the_tiers_commission(brought_in, reseller):
    order = services.purchase_plan(user=brought_in, plan=plan(30))
    commission = Commission.objects.get()
    assert (commission.distributor, commission.order, commission.percent) == (reseller, order, 5)
    assert commission.amount_fen == 195  # 5% of ¥39.00
    assert commission.status == CommissionStatus.ACCRUED
    assert AuditEvent.objects.filter(action="billing.commission_accrued").count() == 1


def test_commission_is_rounded_half_up_to_whole_fen(brought_in):
    Plan.objects.filter(duration_days=30).update(price_fen=3_910)  # 5% is 195.5 fen
    services.purchase_plan(user=brought_in, plan=plan(30))
    assert Commission.objects.get().amount_fen == 196


def test_commission_follows_the_tier_and_the_amount_actually_paid(brought_in, reseller, make_coupon):
    reseller.distributor_profile.tier = reseller.distributor_profile.tier.__class__.objects.get(
        slug="white-gold")
    reseller.distributor_profile.save()
    make_coupon("HALF", value=50)
    services.purchase_plan(user=brought_in, plan=plan(30), coupon_code="HALF")
    assert Commission.objects.get().amount_fen == 156  # 8% of ¥19.50


def test_a_customer_nobody_brought_in_earns_nobody_commission(customer, fund, make_code, admin_user):
    distribution.redeem(user=customer, raw_code=make_code(created_by=admin_user).code)
    fund(customer, 10_000)
    services.purchase_plan(user=customer, plan=plan(30))
    assert not Commission.objects.exists()


def test_settling_credits_the_distributors_balance_with_a_ledger_entry(brought_in, reseller,
                                                                       superadmin):
    services.purchase_plan(user=brought_in, plan=plan(30))
    services.purchase_plan(user=brought_in, plan=plan(3))  # 5% of ¥6.00 = 30 fen
    response = settle(superadmin, reseller)
    assert response.status_code == 200
    assert response.json()["amount_fen"] == 225
    assert services.balance_of(reseller) == 225
    entry = LedgerEntry.objects.get(wallet__owner=reseller)
    assert (entry.kind, entry.amount_fen, entry.balance_after_fen) == (LedgerKind.COMMISSION, 225, 225)
    assert set(Commission.objects.values_list("status", flat=True)) == {CommissionStatus.SETTLED}
    settlement = CommissionSettlement.objects.get()
    assert (settlement.amount_fen, settlement.method, settlement.settled_by) == (225, "credit", superadmin)
    assert AuditEvent.objects.filter(action="billing.commission_settled").count() == 1


def test_settling_twice_finds_nothing_to_settle(brought_in, reseller, superadmin):
    services.purchase_plan(user=brought_in, plan=plan(30))
    assert settle(superadmin, reseller).status_code == 200
    before = snapshot()
    refused(settle(superadmin, reseller), 409, "nothing_accrued")
    assert snapshot() == before


def test_a_payout_needs_its_reference_and_moves_no_balance(brought_in, reseller, superadmin):
    services.purchase_plan(user=brought_in, plan=plan(30))
    before = snapshot()
    refused(settle(superadmin, reseller, "payout"), 400, "reference_required")
    assert snapshot() == before
    assert settle(superadmin, reseller, "payout", "alipay 8812").status_code == 200
    assert CommissionSettlement.objects.get().reference == "alipay 8812"
    assert services.balance_of(reseller) == 0
    assert Commission.objects.get().status == CommissionStatus.SETTLED


@pytest.mark.parametrize("body", [{"method": "cash"}, {"method": ""}, {"distributor_id": "x"},
                                  {"distributor_id": 0}])
def test_a_settlement_with_bad_input_is_refused(brought_in, reseller, superadmin, body):
    services.purchase_plan(user=brought_in, plan=plan(30))
    before = snapshot()
    refused(token_client(superadmin).post("/api/finance/commission/settle",
                                          {"distributor_id": reseller.pk, "method": "credit", **body},
                                          format="json"), 400)
    assert snapshot() == before


def test_settling_for_someone_who_is_not_a_distributor_is_not_found(superadmin, customer):
    refused(settle(superadmin, customer), 404)
    refused(token_client(superadmin).post("/api/finance/commission/settle",
                                          {"distributor_id": 999_999, "method": "credit"}, format="json"),
            404)


def test_a_refund_withdraws_the_commission_accrued_on_that_order(brought_in, superadmin):
    order = services.purchase_plan(user=brought_in, plan=plan(30))
    services.mark_order(actor=superadmin, order=order, status="refunded")
    assert not Commission.objects.exists()
    event = AuditEvent.objects.get(action="billing.order_marked")
    assert event.details["commission_withdrawn_fen"] == 195
