"""One reviewed purchase confirmed ten times at once (a double click, a resent form, a flaky
network): one order, one debit, and every confirmation answers with that order."""

import pytest
from django.db.models import Sum

from apps.billing import services
from apps.billing.models import LedgerEntry, Order, OrderKind
from apps.distribution import services as distribution
from apps.distribution.models import ActivationCode
from tests.commerce.conftest import plan
from tests.commerce.races import run_together

RACERS = 10


@pytest.mark.postgres
def test_ten_concurrent_confirmations_of_one_purchase_buy_once(transactional_db, customer, fund):
    fund(customer, 100_00)
    thirty = plan(30)
    orders = []

    outcomes, unexpected = run_together(RACERS, lambda n: orders.append(services.purchase_plan(
        user=customer, plan=thirty, expected_amount_fen=39_00, request_key="review-1")))

    assert unexpected == []
    assert outcomes == ["ok"] * RACERS
    assert len({order.pk for order in orders}) == 1
    assert Order.objects.filter(buyer=customer).exclude(kind=OrderKind.TOP_UP).count() == 1
    assert services.balance_of(customer) == 61_00
    assert LedgerEntry.objects.filter(wallet__owner=customer).aggregate(
        total=Sum("amount_fen"))["total"] == 61_00


@pytest.mark.postgres
def test_ten_concurrent_confirmations_of_one_batch_buy_once(transactional_db, reseller, fund):
    fund(reseller, 1000_00)
    thirty = plan(30)
    total = 3 * 39_00 - 3 * 39_00 * 10 // 100  # the gold tier's 10% off
    orders = []

    outcomes, unexpected = run_together(RACERS, lambda n: orders.append(distribution.generate_codes(
        actor=reseller, plan=thirty, quantity=3, expected_amount_fen=total,
        request_key="review-1")[1]))

    assert unexpected == []
    assert outcomes == ["ok"] * RACERS
    assert len({order.pk for order in orders}) == 1
    assert ActivationCode.objects.filter(created_by=reseller).count() == 3
    assert services.balance_of(reseller) == 1000_00 - total


@pytest.mark.postgres
def test_a_reviewed_total_that_no_longer_holds_is_refused_for_every_racer(transactional_db,
                                                                         customer, fund):
    fund(customer, 100_00)
    thirty = plan(30)

    outcomes, unexpected = run_together(4, lambda n: services.purchase_plan(
        user=customer, plan=thirty, expected_amount_fen=30_00, request_key=f"review-{n}"))

    assert unexpected == []
    assert outcomes == ["price_changed"] * 4
    assert services.balance_of(customer) == 100_00
