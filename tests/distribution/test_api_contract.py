"""The activation-code API takes what its schema says: a wrong type or an out-of-range number is
a 400 naming the field, with no code, order or money changed; answers carry the seed's keys
(serial_number, serial_numbers)."""

import pytest
from django.conf import settings

from apps.distribution import codes
from apps.distribution.models import CodeStatus
from derpmgr.api_fields import INT_MAX
from tests import api_contract as contract
from tests.commerce.helpers import snapshot
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

BATCH = {"duration_days": 30, "quantity": 1}
NOT_A_DURATION = [*contract.not_an_integer(low=1, high=INT_MAX), None]
NOT_A_QUANTITY = [*contract.not_an_integer(low=1, high=settings.CODE_BATCH_MAX), None]
NOT_ID_LISTS = [5, "1,2", {"a": 1}, None, [0], [-1], [True], ["x"], [2.5], [10**30], [[1]]]


@pytest.mark.parametrize("field, body", contract.one_wrong_field(BATCH, {
    "duration_days": NOT_A_DURATION,
    "quantity": NOT_A_QUANTITY,
    "server_ids": [*NOT_ID_LISTS, [1] * 101],
    "pay_with_balance": contract.NOT_A_BOOLEAN,
}))
def test_a_distributor_batch_refuses_a_wrong_value_naming_the_field(funded, field, body):
    before = snapshot()

    response = token_client(funded).post("/api/distributor/serial/generate", body, format="json")

    contract.refused_naming(response, field)
    assert snapshot() == before


@pytest.mark.parametrize("field, body", contract.one_wrong_field(BATCH, {
    "duration_days": NOT_A_DURATION,
    "quantity": NOT_A_QUANTITY,
    "paid": contract.NOT_A_BOOLEAN,
    "valid_days": contract.not_an_integer(low=1, high=3650),
}))
def test_an_admin_batch_refuses_a_wrong_value_naming_the_field(superadmin, field, body):
    before = snapshot()

    response = token_client(superadmin).post("/api/serial/generate", body, format="json")

    contract.refused_naming(response, field)
    assert snapshot() == before


@pytest.mark.parametrize("code", [*contract.NOT_A_STRING, "x" * 65])
def test_activation_refuses_a_code_that_is_not_a_string(customer, code):
    before = snapshot()

    response = token_client(customer).post("/api/serial/activate", {"code": code}, format="json")

    contract.refused_naming(response, "code")
    assert snapshot() == before


@pytest.mark.parametrize("field, body", contract.one_wrong_field({}, {
    "ids": [*NOT_ID_LISTS, [1] * 1001],
    "codes": ["ABC", {"a": 1}, None, [5], [True], [["x"]], [None], ["x" * 65],
              [codes.generate()] * (settings.CODE_BATCH_MAX + 1)],
}))
def test_revocation_refuses_a_wrong_value_naming_the_field(superadmin, make_codes, funded, field,
                                                           body):
    make_codes(funded, 2)
    before = snapshot()

    response = token_client(superadmin).post("/api/serial/revoke", body, format="json")

    contract.refused_naming(response, field)
    assert snapshot() == before


def test_a_distributor_batch_names_its_codes_the_seeds_way(funded):
    body = token_client(funded).post("/api/distributor/serial/generate", {**BATCH, "quantity": 3},
                                     format="json").json()

    assert body["serial_numbers"] == [serial["code"] for serial in body["serials"]]
    assert len(body["serial_numbers"]) == 3
    assert body["serial_number"] == body["serial_numbers"][0]


def test_an_admin_batch_names_its_codes_the_seeds_way(superadmin):
    body = token_client(superadmin).post("/api/serial/generate", {**BATCH, "quantity": 2,
                                                                  "paid": False},
                                         format="json").json()

    assert body["serial_numbers"] == [serial["code"] for serial in body["serials"]]
    assert [serial["paid"] for serial in body["serials"]] == [False, False]


def test_the_code_list_gives_the_rows_as_the_seeds_serial_numbers_too(funded, make_codes):
    make_codes(funded, 2)

    body = token_client(funded).get("/api/distributor/serials").json()

    assert body["serial_numbers"] == body["results"]
    assert {row["status"] for row in body["serial_numbers"]} == {CodeStatus.UNUSED}


@pytest.mark.parametrize("query, field", [("status=bogus", "status"), ("plan=x", "plan"),
                                          (f"plan={10**30}", "plan"),
                                          ("created_from=yesterday", "created_from"),
                                          ("q=" + "x" * 65, "q")])
def test_the_code_list_refuses_a_bad_filter_naming_it(funded, query, field):
    response = token_client(funded).get(f"/api/distributor/serials?{query}")

    contract.refused_naming(response, field)


@pytest.mark.parametrize("path", ["/api/distributor/serial/generate", "/api/serial/activate",
                                  "/api/serial/revoke"])
def test_a_body_that_is_not_an_object_is_refused(funded, path):
    contract.refuses_every_non_object(token_client(funded), path, snapshot)


@pytest.mark.parametrize("path, fields", [
    ("/api/distributor/serial/generate", {"duration_days", "quantity", "server_ids",
                                          "pay_with_balance"}),
    ("/api/serial/generate", {"duration_days", "quantity", "server_ids", "paid", "valid_days"}),
    ("/api/serial/activate", {"code"}),
    ("/api/serial/revoke", {"ids", "codes"}),
])
def test_the_schema_publishes_each_request_body(path, fields):
    assert set(contract.request_properties(path)) == fields


@pytest.mark.parametrize("path, method, status, keys", [
    ("/api/distributor/serial/generate", "post", 201, {"success", "serials", "count", "order",
                                                       "serial_number", "serial_numbers"}),
    ("/api/serial/generate", "post", 201, {"success", "serials", "count", "order",
                                           "serial_number", "serial_numbers"}),
    ("/api/distributor/serials", "get", 200, {"success", "count", "page", "pages", "next",
                                              "previous", "results", "serial_numbers"}),
    ("/api/serial/activate", "post", 200, {"success", "serial", "rental_state", "rental_expiry"}),
    ("/api/serial/revoke", "post", 200, {"success", "revoked"}),
])
def test_the_schema_publishes_each_answer(path, method, status, keys):
    assert set(contract.answer_properties(path, method, status)) == keys
