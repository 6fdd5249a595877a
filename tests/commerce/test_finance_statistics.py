"""Finance figures from a small known history: every number, and what is not revenue."""

from datetime import UTC, datetime

import pytest
import time_machine

from apps.billing import services
from apps.billing.statistics import finance_statistics
from apps.distribution import services as distribution
from tests.commerce.conftest import plan

LAST_MONTH = datetime(2030, 2, 10, 4, 0, tzinfo=UTC)
NOW = datetime(2030, 3, 15, 4, 0, tzinfo=UTC)  # noon in Asia/Shanghai
LAST_YEAR = datetime(2029, 2, 20, 4, 0, tzinfo=UTC)  # outside the 12-month chart


@pytest.fixture
def history(superadmin, customer, stranger, reseller, fund, make_coupon):
    with time_machine.travel(LAST_YEAR, tick=False):
        fund(customer, 600)
        services.purchase_plan(user=customer, plan=plan(3))  # ¥6.00, a year ago
    with time_machine.travel(LAST_MONTH, tick=False):
        fund(customer, 10_000)  # a top-up is prepaid money, not revenue
        services.purchase_plan(user=customer, plan=plan(30))  # ¥39.00 last month
    with time_machine.travel(NOW, tick=False):
        fund(reseller, 50_000)
        batch, _paid = distribution.generate_codes(actor=reseller, plan=plan(30), quantity=10)
        distribution.generate_codes(actor=reseller, plan=plan(360), quantity=2,
                                    pay_with_balance=False)  # pending: not revenue yet
        distribution.redeem(user=stranger, raw_code=batch[0].code)  # the reseller brought them in
        fund(stranger, 30_000)
        make_coupon("TEN", value=10)
        services.purchase_plan(user=stranger, plan=plan(180), coupon_code="TEN")  # ¥199 − ¥19.90
        services.settle_commission(actor=superadmin, distributor=reseller, method="credit")
        services.purchase_plan(user=stranger, plan=plan(5))  # ¥9.00, commission 45 fen accrued
        refunded = services.purchase_plan(user=customer, plan=plan(3))
        services.mark_order(actor=superadmin, order=refunded, status="refunded")
        yield finance_statistics()


def test_revenue_counts_what_was_earned_this_month_and_ever(history):
    # this month: the paid batch (10 × ¥39 − 10%) + ¥179.10 + ¥9.00; the refund is not revenue
    assert history["revenue_this_month_fen"] == 35_100 + 17_910 + 900
    assert history["revenue_all_time_fen"] == 600 + 3_900 + 35_100 + 17_910 + 900


def test_prepaid_balances_are_what_is_left_on_every_balance(history):
    customer = 600 - 600 + 10_000 - 3_900  # the refunded ¥6.00 came back
    reseller = 50_000 - 35_100 + 896  # commission credited
    stranger = 30_000 - 17_910 - 900
    assert history["prepaid_balances_fen"] == customer + reseller + stranger


def test_commission_accrued_and_settled(history):
    assert history["commission_settled_fen"] == 896  # 5% of ¥179.10, half a fen rounded up
    assert history["commission_accrued_fen"] == 45


def test_plan_purchase_counts(history):
    counts = {p["duration_days"]: (p["purchases"], p["renewals"], p["codes_sold"])
              for p in history["plans"]}
    assert counts == {3: (1, 0, 0), 5: (0, 1, 0), 30: (0, 1, 10), 180: (0, 1, 0), 360: (0, 0, 0)}


def test_revenue_per_distributor(history, reseller):
    assert history["distributors"] == [{
        "distributor_id": reseller.pk, "email": reseller.email, "revenue_fen": 35_100,
        "codes_bought": 10, "commission_accrued_fen": 45, "commission_settled_fen": 896}]


def test_the_twelve_month_series_ends_this_month(history):
    series = history["monthly"]
    assert [m["month"] for m in series] == [f"2029-{m:02d}" for m in range(4, 13)] + [
        "2030-01", "2030-02", "2030-03"]
    revenue = {m["month"]: m["revenue_fen"] for m in series}
    assert revenue.pop("2030-02") == 3_900
    assert revenue.pop("2030-03") == 53_910
    assert set(revenue.values()) == {0}


def test_months_are_the_businesss_months_in_shanghai(customer, fund):
    end_of_february_utc = datetime(2030, 2, 28, 17, 0, tzinfo=UTC)  # 1 March, 01:00 in Shanghai
    with time_machine.travel(end_of_february_utc, tick=False):
        fund(customer, 600)
        services.purchase_plan(user=customer, plan=plan(3))
    with time_machine.travel(NOW, tick=False):
        stats = finance_statistics()
    assert stats["revenue_this_month_fen"] == 600
    assert {m["month"]: m["revenue_fen"] for m in stats["monthly"]}["2030-03"] == 600


def test_with_no_sales_every_figure_is_zero(db):
    stats = finance_statistics()
    assert (stats["revenue_this_month_fen"], stats["revenue_all_time_fen"], stats["prepaid_balances_fen"],
            stats["commission_accrued_fen"], stats["commission_settled_fen"]) == (0, 0, 0, 0, 0)
    assert all(m["revenue_fen"] == 0 for m in stats["monthly"])
