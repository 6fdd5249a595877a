"""GET /api/logs/system: filters are checked (a bad one is a 400 naming it, never ignored), the
rows come as "results" and as the seed's "logs", and the schema publishes both."""

import pytest

from tests import api_contract as contract
from tests.conftest import token_client

pytestmark = pytest.mark.django_db


def test_the_rows_are_given_as_the_seeds_logs_too(admin_user, make_event, customer):
    make_event("accounts.registered", actor=customer, target=customer)
    make_event("accounts.login", actor=customer, target=customer)

    body = token_client(admin_user).get("/api/logs/system").json()

    assert body["logs"] == body["results"]
    assert [row["action"] for row in body["logs"]] == ["accounts.login", "accounts.registered"]


@pytest.mark.parametrize("query, field", [
    ("since=yesterday", "since"), ("until=2024-13-40", "until"), ("since=1e9", "since"),
    ("actor=" + "x" * 255, "actor"), ("action=" + "x" * 65, "action"),
    ("target=" + "x" * 129, "target"), ("page=x", "page"), ("page_size=-1", "page_size"),
])
def test_a_bad_filter_is_refused_naming_it(admin_user, query, field):
    response = token_client(admin_user).get(f"/api/logs/system?{query}")

    contract.refused_naming(response, field)


def test_a_window_that_ends_before_it_starts_is_refused(admin_user):
    response = token_client(admin_user).get("/api/logs/system?since=2024-05-02&until=2024-05-01")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "'From' must be before 'Until'."


def test_the_schema_publishes_the_filters_with_their_types_and_the_logs_key():
    parameters = {p["name"]: p["schema"] for p in
                  contract.published_schema()["paths"]["/api/logs/system"]["get"]["parameters"]}

    assert parameters["since"] == parameters["until"] == {"type": "string", "format": "date-time"}
    assert {"actor", "action", "target", "page", "page_size"} <= set(parameters)
    answer = contract.answer_properties("/api/logs/system", "get", 200)
    assert {"logs", "results", "count"} <= set(answer)
