"""Top-ups, purchases and coupons with bad input: a clear 4xx and not a fen moved."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.billing import services
from tests.commerce.conftest import plan
from tests.commerce.helpers import refused, snapshot
from tests.conftest import token_client


def top_up(superadmin, **body):
    return token_client(superadmin).post("/api/billing/top_up", body, format="json")


def buy(user, **body):
    return token_client(user).post("/api/billing/purchase", body, format="json")


@pytest.mark.parametrize("amount", [-500, 0, 2.5, "12.5", "abc", True, None, "", [100], "1e3"])
def test_a_top_up_of_a_bad_amount_is_refused(superadmin, customer, amount):
    before = snapshot()
    error = refused(top_up(superadmin, user_id=customer.pk, amount_fen=amount, reference="bank 1"), 400)
    assert "amount_fen" in error["fields"]
    assert snapshot() == before


def test_an_implausibly_large_top_up_is_refused(superadmin, customer):
    before = snapshot()
    error = refused(top_up(superadmin, user_id=customer.pk, amount_fen=10**12, reference="bank 1"),
                    400)
    assert "amount_fen" in error["fields"]
    assert snapshot() == before


def test_a_top_up_needs_a_payment_reference(superadmin, customer):
    before = snapshot()
    refused(top_up(superadmin, user_id=customer.pk, amount_fen=500, reference=""), 400)
    refused(top_up(superadmin, user_id=customer.pk, amount_fen=500, reference="   "), 400)
    assert snapshot() == before


@pytest.mark.parametrize("user_id", [999_999, 10**20, "abc", -1, None])
def test_a_top_up_for_nobody_is_refused(superadmin, user_id):
    before = snapshot()
    response = top_up(superadmin, user_id=user_id, amount_fen=500, reference="bank 1")
    # 10**20 is no id at all (beyond a primary key's range): malformed, like "abc"
    refused(response, 404 if isinstance(user_id, int) and 0 < user_id < 2**63 else 400)
    assert snapshot() == before


def test_a_top_up_credits_the_balance_with_a_ledger_entry(superadmin, customer):
    response = top_up(superadmin, user_id=customer.pk, amount_fen="1500", reference="bank 1")
    assert response.status_code == 201
    assert response.json()["balance_fen"] == 1500
    assert services.balance_of(customer) == 1500


def test_a_purchase_the_balance_does_not_cover_is_refused(customer, fund):
    fund(customer, 599)
    before = snapshot()
    error = refused(buy(customer, duration_days=3), 402, "insufficient_balance")
    assert "¥5.99" in error["message"] and "¥6.00" in error["message"]
    assert snapshot() == before


@pytest.mark.parametrize("body, status", [
    ({"duration_days": 7}, 404), ({"duration_days": "abc"}, 400), ({"duration_days": 2.5}, 400),
    ({"duration_days": -3}, 400), ({"plan": 999_999}, 400), ({"plan": 10**20}, 400),
    ({"plan": "x"}, 400), ({}, 400),
])
def test_a_purchase_of_no_such_plan_is_refused(customer, fund, body, status):
    fund(customer, 100_000)
    before = snapshot()
    refused(buy(customer, **body), status)
    assert snapshot() == before


def test_a_coupon_over_its_limit_is_refused(customer, stranger, fund, make_coupon):
    coupon = make_coupon("ONCE", max_uses=1)
    fund(stranger, 10_000)
    services.purchase_plan(user=stranger, plan=plan(3), coupon_code="ONCE")
    fund(customer, 10_000)
    before = snapshot()
    error = refused(buy(customer, duration_days=3, coupon="once"), 400, "coupon_used_up")
    assert "used up" in error["message"]
    assert snapshot() == before
    coupon.refresh_from_db()
    assert coupon.used_count == 1


@pytest.mark.parametrize("make, code", [
    (lambda mk: None, "coupon_unknown"),
    (lambda mk: mk("DEAL", active=False), "coupon_unknown"),
    (lambda mk: mk("DEAL", valid_from=timezone.now() + timedelta(days=1)), "coupon_not_yet_valid"),
    (lambda mk: mk("DEAL", valid_until=timezone.now() - timedelta(seconds=1)), "coupon_expired"),
    (lambda mk: mk("DEAL", plans=[plan(360)]), "coupon_wrong_plan"),
])
def test_every_reason_a_coupon_does_not_apply_has_its_own_message(customer, fund, make_coupon, make,
                                                                    code):
    make(make_coupon)
    fund(customer, 10_000)
    before = snapshot()
    refused(buy(customer, duration_days=3, coupon="DEAL"), 400, code)
    assert snapshot() == before


def test_a_coupon_is_good_once_per_customer(customer, fund, make_coupon):
    make_coupon("DEAL")
    fund(customer, 10_000)
    assert buy(customer, duration_days=3, coupon="DEAL").status_code == 201
    before = snapshot()
    refused(buy(customer, duration_days=3, coupon="deal"), 400, "coupon_already_used")
    assert snapshot() == before


def test_a_coupon_lowers_the_price_and_is_counted(customer, fund, make_coupon):
    coupon = make_coupon("HALF", value=50)
    fund(customer, 10_000)
    body = buy(customer, duration_days=30, coupon="half").json()
    assert body["order"]["coupon"] == "HALF"
    assert (body["order"]["coupon_discount_fen"], body["order"]["amount_fen"]) == (1_950, 1_950)
    assert body["balance_fen"] == 10_000 - 1_950
    coupon.refresh_from_db()
    assert coupon.used_count == 1
