"""Generating a batch with bad input: a clear 4xx, no codes, no order, no money moved."""

import pytest

from tests.commerce.helpers import refused, snapshot
from tests.conftest import token_client

DISTRIBUTOR_URL = "/api/distributor/serial/generate"
ADMIN_URL = "/api/serial/generate"
BAD_QUANTITIES = [0, -1, 1001, "abc", 2.5, "2.5", True, [3], {"n": 1}]
BAD_DURATIONS = [0, -30, "abc", 2.5, True, None, "", [30]]


@pytest.fixture
def funded_reseller(reseller, fund):
    fund(reseller, 10_000_000)
    return reseller


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_a_distributor_batch_of_a_bad_size_is_refused(funded_reseller, quantity):
    before = snapshot()
    error = refused(token_client(funded_reseller).post(
        DISTRIBUTOR_URL, {"duration_days": 30, "quantity": quantity}, format="json"), 400)
    assert "quantity" in error["fields"]
    assert snapshot() == before


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_an_admin_batch_of_a_bad_size_is_refused(admin_user, quantity):
    before = snapshot()
    refused(token_client(admin_user).post(ADMIN_URL, {"duration_days": 30, "quantity": quantity},
                                          format="json"), 400)
    assert snapshot() == before


@pytest.mark.parametrize("duration", BAD_DURATIONS)
def test_a_malformed_duration_is_refused(funded_reseller, duration):
    before = snapshot()
    error = refused(token_client(funded_reseller).post(
        DISTRIBUTOR_URL, {"duration_days": duration, "quantity": 1}, format="json"), 400)
    assert "duration_days" in error["fields"]
    assert snapshot() == before


@pytest.mark.parametrize("url", [DISTRIBUTOR_URL, ADMIN_URL])
def test_a_duration_no_plan_has_is_refused_naming_the_plans_on_sale(funded_reseller, admin_user, url):
    user = funded_reseller if url == DISTRIBUTOR_URL else admin_user
    before = snapshot()
    error = refused(token_client(user).post(url, {"duration_days": 7, "quantity": 1}, format="json"),
                    404, "plan_unknown")
    assert "3, 5, 30, 180, 360" in error["message"]
    assert snapshot() == before


def test_a_plan_taken_off_sale_cannot_be_bought_as_codes(funded_reseller):
    from tests.commerce.conftest import plan

    plan(30).__class__.objects.filter(duration_days=30).update(active=False)
    before = snapshot()
    refused(token_client(funded_reseller).post(DISTRIBUTOR_URL, {"duration_days": 30}, format="json"),
            404, "plan_unknown")
    assert snapshot() == before


@pytest.mark.parametrize("server_ids", [[999], "abc", [0], [-1], [True], "1,x"])
def test_unknown_or_malformed_server_ids_are_refused(funded_reseller, server_ids):
    before = snapshot()
    response = token_client(funded_reseller).post(
        DISTRIBUTOR_URL, {"duration_days": 30, "quantity": 1, "server_ids": server_ids}, format="json")
    assert response.status_code in (400, 403)  # malformed; or well-formed, and not theirs to pin
    refused(response, response.status_code)
    assert snapshot() == before


def test_a_batch_the_balance_does_not_cover_is_refused(reseller, fund):
    fund(reseller, 3_000)  # one 30-day code costs ¥35.10 at the gold tier
    before = snapshot()
    error = refused(token_client(reseller).post(DISTRIBUTOR_URL, {"duration_days": 30, "quantity": 1},
                                                format="json"), 402, "insufficient_balance")
    assert "¥30.00" in error["message"]
    assert snapshot() == before


def test_a_distributor_without_a_tier_is_told_to_ask_their_admin(distributor):
    before = snapshot()
    refused(token_client(distributor).post(DISTRIBUTOR_URL, {"duration_days": 30}, format="json"),
            403, "no_tier")
    assert snapshot() == before


@pytest.mark.parametrize("body", ["not json", "[1, 2]", "null", '"text"'])
def test_a_body_that_is_not_a_json_object_is_refused(funded_reseller, body):
    before = snapshot()
    response = token_client(funded_reseller).post(DISTRIBUTOR_URL, body, content_type="application/json")
    refused(response, 400)
    assert snapshot() == before
