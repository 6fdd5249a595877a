"""Twenty purchases at once against a balance that pays for seven: seven win, none overdraws."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from apps.billing import services
from apps.billing.models import LedgerEntry, Order, OrderKind, Wallet
from tests.commerce.conftest import plan
from tests.commerce.races import run_together

RACERS = 20
PRICE = 600  # the 3-day plan


@pytest.mark.postgres
def test_twenty_concurrent_debits_of_a_balance_that_covers_seven(transactional_db, customer, fund):
    fund(customer, 7 * PRICE + PRICE - 1)
    three_days = plan(3)

    outcomes, unexpected = run_together(
        RACERS, lambda n: services.purchase_plan(user=customer, plan=three_days))

    assert unexpected == []
    assert sorted(outcomes) == ["insufficient_balance"] * (RACERS - 7) + ["ok"] * 7
    wallet = Wallet.objects.get(owner=customer)
    assert wallet.balance_fen == PRICE - 1
    entries = LedgerEntry.objects.filter(wallet=wallet)
    assert entries.aggregate(total=Sum("amount_fen"))["total"] == wallet.balance_fen
    assert not entries.filter(balance_after_fen__lt=0).exists()
    assert sorted(entries.values_list("balance_after_fen", flat=True)) == [
        PRICE - 1 + k * PRICE for k in range(8)]  # each debit saw the one before it
    orders = Order.objects.filter(buyer=customer).exclude(kind=OrderKind.TOP_UP)
    assert orders.count() == 7
    assert sorted(orders.values_list("kind", flat=True)) == ["purchase"] + ["renewal"] * 6
    customer.refresh_from_db()
    left = customer.rental_expiry - timezone.now()
    assert timedelta(days=7 * 3) - timedelta(minutes=5) < left <= timedelta(days=7 * 3)


@pytest.mark.postgres
def test_concurrent_debits_through_post_entry_never_take_a_balance_below_zero(transactional_db,
                                                                              distributor, fund):
    from django.db import transaction

    fund(distributor, 7 * 100)

    def debit(_n):
        with transaction.atomic():
            services.post_entry(owner=distributor, amount_fen=-100, kind="payment")

    outcomes, unexpected = run_together(RACERS, debit)

    assert unexpected == []
    assert outcomes.count("ok") == 7
    assert services.balance_of(distributor) == 0
    assert LedgerEntry.objects.filter(wallet__owner=distributor).aggregate(
        total=Sum("amount_fen"))["total"] == 0
