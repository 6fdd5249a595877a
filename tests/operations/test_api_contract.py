"""The operations API's contract: filters of the wrong kind are a 400 naming the filter (never
ignored), ids in paths are whole numbers (out of range: 404), and the answers keep their keys."""

import pytest

from apps.operations.models import Operation, OperationKind, OperationState
from tests import api_contract as contract
from tests.conftest import token_client


@pytest.fixture
def queued(customer, admin_user):
    return Operation.objects.create(kind=OperationKind.PROVISION, customer_id=customer.pk,
                                    requested_by=admin_user, target_label=str(customer))


@pytest.mark.parametrize("query", [
    "server_id=abc", "server_id=1.5", "instance_id=-1", "customer_id=0",
    f"customer_id={contract.HUGE}", "state=lost", "kind=teleport", "server_id=true"])
def test_a_bad_filter_is_a_400_naming_it(admin_user, queued, query):
    contract.refused_naming(token_client(admin_user).get(f"/api/operations?{query}"), query.split("=")[0])


def test_filters_of_the_right_kind_filter(admin_user, queued, customer):
    api = token_client(admin_user)

    found = api.get(f"/api/operations?customer_id={customer.pk}&state=queued&kind=provision")
    other = api.get(f"/api/operations?customer_id={customer.pk}&state={OperationState.DONE}")

    assert [o["id"] for o in found.json()["results"]] == [queued.pk]
    assert other.json()["results"] == []


@pytest.mark.parametrize("pk", [str(contract.HUGE), "0", "987654"])
def test_an_out_of_range_or_unknown_id_is_a_404(admin_user, queued, pk):
    api = token_client(admin_user)
    before = contract.journal()

    contract.not_found(api.get(f"/api/operations/{pk}"))
    contract.not_found(api.post(f"/api/operations/{pk}/cancel"))
    assert contract.journal() == before


@pytest.mark.parametrize("pk", ["abc", "-1", "1.5"])
def test_an_id_that_is_not_a_number_matches_no_route(admin_user, pk):
    contract.not_found(token_client(admin_user).get(f"/api/operations/{pk}"))


def test_an_operation_is_answered_in_the_envelope(admin_user, queued):
    body = token_client(admin_user).get(f"/api/operations/{queued.pk}").json()
    assert body["success"] is True and body["operation"]["id"] == queued.pk
    assert body["operation"]["url"] == f"/api/operations/{queued.pk}"
