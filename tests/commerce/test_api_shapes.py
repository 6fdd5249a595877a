"""The seed's serial-number and finance endpoints keep their request and response shapes."""

import re

from apps.billing.models import Order, OrderKind, OrderStatus
from apps.distribution import services as distribution
from apps.distribution.models import ActivationCode
from tests.conftest import token_client

SHOWN = re.compile(r"^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$")


def test_a_distributor_buys_a_batch_of_codes_paid_from_their_balance(reseller, fund):
    fund(reseller, 20_000)
    response = token_client(reseller).post("/api/distributor/serial/generate",
                                           {"duration_days": 30, "quantity": 3, "server_ids": []},
                                           format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["success"] is True
    assert body["count"] == 3
    assert len(body["serials"]) == 3
    for serial in body["serials"]:
        assert SHOWN.match(serial["code"])
        assert serial["status"] == "unused"
        assert serial["duration_days"] == 30
        assert serial["paid"] is True
        assert serial["user"] is None
    # 3 × ¥39.00 at the gold tier's 10% discount
    assert body["order"] == {"number": body["order"]["number"], "status": "completed", "quantity": 3,
                             "list_price_fen": 11_700, "discount_fen": 1_170, "amount_fen": 10_530}
    order = Order.objects.get(number=body["order"]["number"])
    assert (order.buyer, order.kind, order.paid_from_balance) == (reseller, OrderKind.CODE_BATCH, True)
    assert order.codes.count() == 3


def test_a_batch_without_paying_now_waits_as_a_pending_order_with_unpaid_codes(reseller):
    response = token_client(reseller).post(
        "/api/distributor/serial/generate",
        {"duration_days": 5, "quantity": 2, "server_ids": [], "pay_with_balance": False}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["order"]["status"] == OrderStatus.PENDING
    assert [s["paid"] for s in body["serials"]] == [False, False]


def test_the_code_list_is_a_paginated_envelope_naming_who_activated_each_code(reseller, customer, fund):
    fund(reseller, 10_000)
    batch, _order = distribution.generate_codes(actor=reseller, plan=distribution.plan_for_duration(30),
                                                quantity=2)
    distribution.redeem(user=customer, raw_code=batch[0].code)

    response = token_client(reseller).get("/api/distributor/serials")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert (body["count"], body["page"], body["pages"], body["previous"]) == (2, 1, 1, None)
    by_code = {row["code"]: row for row in body["results"]}
    used = by_code[batch[0].display]
    assert used["status"] == "used"
    assert used["duration_days"] == 30
    assert used["user"] == {"id": customer.pk, "email": customer.email}
    fresh = by_code[batch[1].display]
    assert (fresh["status"], fresh["user"]) == ("unused", None)


def test_the_code_list_pages_and_filters(reseller, fund):
    fund(reseller, 100_000)
    distribution.generate_codes(actor=reseller, plan=distribution.plan_for_duration(3), quantity=5)
    client = token_client(reseller)
    page = client.get("/api/distributor/serials?page_size=2&page=2").json()
    assert (page["count"], page["page"], page["pages"], len(page["results"])) == (5, 2, 3, 2)
    assert client.get("/api/distributor/serials?status=used").json()["count"] == 0
    assert client.get("/api/distributor/serials?status=unused").json()["count"] == 5
    for bad in ("status=bogus", "plan=x", f"plan={10**20}", "created_from=yesterday", "page=x",
                "page_size=0"):
        response = client.get(f"/api/distributor/serials?{bad}")
        assert response.status_code == 400, bad
        assert response.json()["success"] is False


def test_an_admin_issues_codes_without_an_order(admin_user):
    response = token_client(admin_user).post("/api/serial/generate",
                                             {"duration_days": 180, "quantity": 4, "server_ids": []},
                                             format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["success"], body["count"], body["order"]) == (True, 4, None)
    assert all(s["paid"] and s["duration_days"] == 180 for s in body["serials"])
    assert ActivationCode.objects.filter(created_by=admin_user, order=None).count() == 4


def test_an_admin_may_issue_codes_on_credit(admin_user):
    response = token_client(admin_user).post("/api/serial/generate",
                                             {"duration_days": 3, "quantity": 1, "paid": False},
                                             format="json")
    assert response.status_code == 201
    assert response.json()["serials"][0]["paid"] is False


def test_finance_statistics_answer_with_every_figure(superadmin):
    response = token_client(superadmin).get("/api/finance/statistics")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    stats = body["statistics"]
    assert set(stats) == {"revenue_this_month_fen", "revenue_all_time_fen", "prepaid_balances_fen",
                          "commission_accrued_fen", "commission_settled_fen", "plans",
                          "distributors", "monthly"}
    assert [p["duration_days"] for p in stats["plans"]] == [3, 5, 30, 180, 360]
    assert len(stats["monthly"]) == 12
