"""The billing API takes what its schema says: a wrong type or an out-of-range number is a 400
naming the field and not a fen moves; answers carry the seed's keys (total_revenue)."""

import pytest

from apps.billing import services
from apps.billing.models import Order, OrderStatus, Plan
from derpmgr.api_fields import ID_MAX
from tests import api_contract as contract
from tests.commerce.helpers import snapshot
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

NOT_AN_ID = [*contract.not_an_integer(low=1, high=ID_MAX), None]
NOT_A_REFERENCE = [5, True, ["bank 1"], {"r": 1}, None, "x" * 129]


@pytest.fixture
def completed_order(customer, fund) -> Order:
    fund(customer, 100_000)
    return services.purchase_plan(user=customer, plan=Plan.objects.get(duration_days=3))


@pytest.mark.parametrize("field, body", contract.one_wrong_field({"duration_days": 3}, {
    "plan": [*contract.not_an_integer(low=1, high=ID_MAX), 999_999],
    "duration_days": contract.not_an_integer(low=1, high=2**31 - 1),
    "coupon": [5, True, ["DEAL"], {"c": 1}, None, "x" * 33],
}))
def test_a_purchase_refuses_a_wrong_value_naming_the_field(customer, fund, field, body):
    fund(customer, 100_000)
    before = snapshot()

    response = token_client(customer).post("/api/billing/purchase", body, format="json")

    contract.refused_naming(response, field)
    assert snapshot() == before


@pytest.mark.parametrize("field, body", contract.one_wrong_field(
    {"amount_fen": 500, "reference": "bank 1"},
    {"user_id": NOT_AN_ID,
     "amount_fen": [*contract.not_an_integer(low=1, high=services.MAX_TOP_UP_FEN), None],
     "reference": [*NOT_A_REFERENCE, "", "   "]}))
def test_a_top_up_refuses_a_wrong_value_naming_the_field(superadmin, customer, field, body):
    body = {"user_id": customer.pk, **body}
    before = snapshot()

    response = token_client(superadmin).post("/api/billing/top_up", body, format="json")

    contract.refused_naming(response, field)
    assert snapshot() == before


@pytest.mark.parametrize("field, body", contract.one_wrong_field({"status": "refunded"}, {
    "status": [*contract.NOT_A_STRING, "paid", "REFUNDED"],
    "reference": NOT_A_REFERENCE,
}))
def test_marking_an_order_refuses_a_wrong_value_naming_the_field(superadmin, completed_order,
                                                                   field, body):
    before = snapshot()

    response = token_client(superadmin).post(f"/api/orders/{completed_order.number}/mark", body,
                                             format="json")

    contract.refused_naming(response, field)
    assert snapshot() == before
    completed_order.refresh_from_db()
    assert completed_order.status == OrderStatus.COMPLETED


@pytest.mark.parametrize("field, body", contract.one_wrong_field({"method": "credit"}, {
    "distributor_id": NOT_AN_ID,
    "method": [*contract.NOT_A_STRING, "cash"],
    "reference": NOT_A_REFERENCE,
}))
def test_settling_commission_refuses_a_wrong_value_naming_the_field(superadmin, distributor, field,
                                                                      body):
    body = {"distributor_id": distributor.pk, **body}
    before = snapshot()

    response = token_client(superadmin).post("/api/finance/commission/settle", body, format="json")

    contract.refused_naming(response, field)
    assert snapshot() == before


@pytest.mark.parametrize("path", ["/api/billing/purchase", "/api/billing/top_up",
                                  "/api/finance/commission/settle"])
def test_a_body_that_is_not_an_object_is_refused(superadmin, path):
    contract.refuses_every_non_object(token_client(superadmin), path, snapshot)


def test_finance_statistics_give_the_seeds_total_revenue_in_fen(superadmin, completed_order):
    body = token_client(superadmin).get("/api/finance/statistics").json()

    assert body["total_revenue"] == completed_order.amount_fen == 600
    assert body["total_revenue"] == body["statistics"]["revenue_all_time_fen"]


@pytest.mark.parametrize("path, fields", [
    ("/api/billing/purchase", {"plan", "duration_days", "coupon"}),
    ("/api/billing/top_up", {"user_id", "amount_fen", "reference"}),
    ("/api/orders/{number}/mark", {"status", "reference"}),
    ("/api/finance/commission/settle", {"distributor_id", "method", "reference"}),
])
def test_the_schema_publishes_each_request_body(path, fields):
    assert set(contract.request_properties(path)) == fields


@pytest.mark.parametrize("path, method, status, keys", [
    ("/api/billing/plans", "get", 200, {"success", "plans"}),
    ("/api/billing/balance", "get", 200, {"success", "balance_fen", "entries"}),
    ("/api/billing/purchase", "post", 201, {"success", "order", "balance_fen", "rental_expiry"}),
    ("/api/billing/top_up", "post", 201, {"success", "order", "balance_fen"}),
    ("/api/orders", "get", 200, {"success", "count", "page", "pages", "next", "previous",
                                 "results"}),
    ("/api/orders/{number}/mark", "post", 200, {"success", "order"}),
    ("/api/finance/statistics", "get", 200, {"success", "statistics", "total_revenue"}),
    ("/api/finance/commission/settle", "post", 200, {"success", "amount_fen", "method",
                                                     "reference", "balance_fen"}),
])
def test_the_schema_publishes_each_answer(path, method, status, keys):
    assert set(contract.answer_properties(path, method, status)) == keys
