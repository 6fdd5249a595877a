"""A coupon good for five uses, tried by twenty customers at once: exactly five get it."""

import pytest

from apps.billing import services
from apps.billing.models import CouponRedemption, Order
from tests.commerce.conftest import plan
from tests.commerce.races import run_together

RACERS = 20


@pytest.mark.postgres
def test_a_five_use_coupon_used_by_twenty_customers_at_once(transactional_db, customers, fund,
                                                            make_coupon):
    racers = customers(RACERS)
    for racer in racers:
        fund(racer, 10_000)
    coupon = make_coupon("FIVE", value=50, max_uses=5)
    thirty_days = plan(30)

    outcomes, unexpected = run_together(
        RACERS, lambda n: services.purchase_plan(user=racers[n], plan=thirty_days, coupon_code="five"))

    assert unexpected == []
    assert sorted(outcomes) == ["coupon_used_up"] * (RACERS - 5) + ["ok"] * 5
    coupon.refresh_from_db()
    assert coupon.used_count == 5
    assert CouponRedemption.objects.filter(coupon=coupon).count() == 5
    assert Order.objects.filter(coupon=coupon).count() == 5
    assert sorted(services.balance_of(r) for r in racers) == [10_000 - 1_950] * 5 + [10_000] * 15
