"""Every commerce endpoint, asked by each persona: the right answer, never another's data."""

import pytest
from rest_framework.test import APIClient

from apps.billing import services as billing
from apps.billing.models import Order, OrderKind, OrderStatus
from apps.distribution import services as distribution
from tests.commerce.conftest import plan
from tests.conftest import token_client

PERSONAS = ["superadmin", "admin", "distributor", "user", "stranger", "anonymous"]


@pytest.fixture
def world(personas, reseller, fund, superadmin):
    """A distributor's batch (one code redeemed by the customer, who then bought a plan and so
    earned the distributor commission), an admin's code, and a customer's pending order."""
    fund(reseller, 100_000)
    customer = personas["user"]
    fund(customer, 10_000)
    batch, batch_order = distribution.generate_codes(actor=reseller, plan=plan(30), quantity=2)
    distribution.redeem(user=customer, raw_code=batch[0].code)
    purchase = billing.purchase_plan(user=customer, plan=plan(3))
    admin_codes, _none = distribution.generate_codes(actor=personas["admin"], plan=plan(5), quantity=1)
    pending = Order.objects.create(buyer=customer, kind=OrderKind.PURCHASE, plan=plan(30),
                                   list_price_fen=3_900, amount_fen=3_900)
    return {**personas, "unused_code": batch[1].display, "batch_order": batch_order,
            "purchase": purchase, "admin_code": admin_codes[0], "pending": pending}


def client_for(world, persona):
    return APIClient() if persona == "anonymous" else token_client(world[persona])


def expect(default: int, anonymous: int = 401, **by_persona) -> dict:
    return {p: by_persona.get(p, anonymous if p == "anonymous" else default) for p in PERSONAS}


ENDPOINTS = {
    "distributor generates": (
        "post", lambda w: "/api/distributor/serial/generate",
        lambda w: {"duration_days": 30, "quantity": 1}, expect(404, distributor=201)),
    "serial list": (
        "get", lambda w: "/api/distributor/serials", None,
        expect(200, user=404, stranger=404)),
    "admin generates": (
        "post", lambda w: "/api/serial/generate", lambda w: {"duration_days": 30, "quantity": 1},
        expect(404, superadmin=201, admin=201)),
    "activate": (
        "post", lambda w: "/api/serial/activate", lambda w: {"code": w["unused_code"]},
        expect(403, user=200, stranger=200)),
    "revoke": (
        "post", lambda w: "/api/serial/revoke", lambda w: {"codes": [w["unused_code"]]},
        expect(200, user=404, stranger=404)),
    "plans": ("get", lambda w: "/api/billing/plans", None, expect(200)),
    "balance": ("get", lambda w: "/api/billing/balance", None, expect(200)),
    "purchase": (
        "post", lambda w: "/api/billing/purchase", lambda w: {"duration_days": 3},
        expect(403, user=201, stranger=402)),
    "top up": (
        "post", lambda w: "/api/billing/top_up",
        lambda w: {"user_id": w["user"].pk, "amount_fen": 500, "reference": "bank 7"},
        expect(404, superadmin=201, admin=403)),
    "orders": ("get", lambda w: "/api/orders", None, expect(200)),
    "mark order": (
        "post", lambda w: f"/api/orders/{w['pending'].number}/mark", lambda w: {"status": "cancelled"},
        expect(404, superadmin=200, admin=200)),
    "finance statistics": (
        "get", lambda w: "/api/finance/statistics", None, expect(404, superadmin=200, admin=403)),
    "settle commission": (
        "post", lambda w: "/api/finance/commission/settle",
        lambda w: {"distributor_id": w["distributor"].pk, "method": "credit"},
        expect(404, superadmin=200, admin=403)),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_persona_gets_the_right_answer(world, endpoint, persona):
    method, path, body, expected = ENDPOINTS[endpoint]
    client = client_for(world, persona)
    if method == "get":
        response = client.get(path(world))
    else:
        response = client.post(path(world), body(world), format="json")
    assert response.status_code == expected[persona], response.content[:400]
    assert response.json()["success"] is (response.status_code < 400)


def numbers(response) -> set[str]:
    assert response.status_code == 200
    return {row["number"] for row in response.json()["results"]}


def test_orders_are_the_callers_own_and_admins_see_customers_orders_only(world):
    customer, stranger = world["user"], world["stranger"]
    own = set(Order.objects.filter(buyer=customer).values_list("number", flat=True))
    assert numbers(token_client(customer).get("/api/orders")) == own
    assert numbers(token_client(stranger).get("/api/orders")) == set()
    assert numbers(token_client(world["distributor"]).get("/api/orders")) == (
        set(Order.objects.filter(buyer=world["distributor"]).values_list("number", flat=True)))
    seen_by_admin = numbers(token_client(world["admin"]).get("/api/orders"))
    assert {world["purchase"].number, world["pending"].number} <= seen_by_admin
    assert world["batch_order"].number not in seen_by_admin
    assert not Order.objects.filter(number__in=seen_by_admin, kind=OrderKind.TOP_UP).exists()
    assert numbers(token_client(world["superadmin"]).get("/api/orders?page_size=500")) == (
        set(Order.objects.values_list("number", flat=True)))


def test_a_balance_is_only_ever_the_callers_own(world):
    for persona in ("superadmin", "admin", "distributor", "user", "stranger"):
        body = token_client(world[persona]).get("/api/billing/balance").json()
        assert body["balance_fen"] == billing.balance_of(world[persona])
        owners = {e["order"] for e in body["entries"]} - {None}
        assert owners <= set(Order.objects.filter(buyer=world[persona]).values_list("number", flat=True))
    assert token_client(world["stranger"]).get("/api/billing/balance").json()["entries"] == []


def test_nobody_marks_an_order_they_cannot_see(world):
    order = world["purchase"]
    for persona in ("user", "stranger", "distributor"):
        response = token_client(world[persona]).post(f"/api/orders/{order.number}/mark",
                                                     {"status": "renewed"}, format="json")
        assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


def test_a_stranger_cannot_take_a_code_another_customer_used(world):
    used = world["purchase"].buyer.codes_activated.get()
    response = token_client(world["stranger"]).post("/api/serial/activate", {"code": used.display},
                                                    format="json")
    assert response.status_code == 409
    assert world["user"].email not in response.content.decode()
