"""The relay API's contract: strict JSON types (a wrong type is a 400 naming the field, nothing
queued), ids in paths that are whole numbers, and the seed's keys: allocate answers
container_id, stop takes the seed's container_id as well as instance_id."""

import pytest

from apps.containers.models import DerpInstance
from apps.operations.models import Operation, OperationKind
from tests import api_contract as contract
from tests.conftest import token_client


@pytest.fixture
def api(admin_user):
    return token_client(admin_user)


def snapshot():
    return list(DerpInstance.objects.order_by("pk").values_list("pk", "status", "server_id"))


BODIES = {  # path: a valid body (by the fleet fixture)
    "/api/container/assign": lambda f: {"user_id": f["renter"].pk, "servers": 2},
    "/api/container/allocate": lambda f: {"user_id": f["renter"].pk,
                                          "server_id": f["servers"][2].pk},
    "/api/container/stop": lambda f: {"container_id": f["running"].pk},
}
WRONG = [
    ("/api/container/assign", contract.wrong({"user_id": contract.NOT_IDS, "servers": contract.NOT_IDS,
                                     "server_ids": contract.NOT_ID_LISTS})),
    ("/api/container/allocate", contract.wrong({"user_id": contract.NOT_IDS,
                                                "server_id": contract.NOT_IDS})),
    ("/api/container/stop", contract.wrong({"container_id": contract.NOT_IDS,
                                            "instance_id": contract.NOT_IDS})),
]


@pytest.mark.parametrize("path, field, value", [
    pytest.param(path, field, value, id=f"{path.rsplit('/', 1)[1]}:{case_id}")
    for path, cases in WRONG for (field, value), case_id in zip(cases["argvalues"], cases["ids"])])
def test_a_wrong_type_is_a_400_naming_the_field_and_queues_nothing(api, fleet, path, field,
                                                                   value):
    before, relays = contract.journal(), snapshot()
    body = BODIES[path](fleet)
    if field == "instance_id":
        body = {}

    contract.refused_naming(api.post(path, {**body, field: value}, format="json"), field)
    assert contract.journal() == before and snapshot() == relays


@pytest.mark.parametrize("path", list(BODIES))
def test_an_array_body_is_a_400(api, fleet, path):
    before = contract.journal()
    contract.refused_as_not_an_object(api.post(path, [BODIES[path](fleet)], format="json"))
    assert contract.journal() == before


@pytest.mark.parametrize(**contract.wrong({"target_server_id": contract.NOT_IDS}))
def test_migrating_to_a_wrong_type_of_server_id_is_a_400(api, fleet, field, value):
    before = contract.journal()
    contract.refused_naming(api.post(f"/api/container/{fleet['running'].pk}/migrate", {field: value},
                            format="json"), field)
    assert contract.journal() == before


def test_allocate_answers_the_seeds_container_id(api, fleet, run_operations):
    response = api.post("/api/container/allocate", BODIES["/api/container/allocate"](fleet),
                        format="json")

    assert response.status_code == 202, response.content[:300]
    body = response.json()
    assert "container_id" in body and body["container_id"] is None  # placed by the worker
    run_operations()
    operation = Operation.objects.get(pk=body["operation"]["id"])
    again = api.get(f"/api/operations/{operation.pk}").json()["operation"]
    placed = DerpInstance.objects.get(user=fleet["renter"], server=fleet["servers"][2])
    assert operation.instance_id == again["instance_id"] == placed.pk


@pytest.mark.parametrize("key", ["container_id", "instance_id"])
def test_stop_takes_the_seeds_container_id_or_instance_id(api, fleet, key):
    running = fleet["running"]

    response = api.post("/api/container/stop", {key: running.pk}, format="json")

    assert response.status_code == 202, response.content[:300]
    operation = Operation.objects.get()
    assert operation.kind == OperationKind.STOP and operation.instance_id == running.pk


def test_stop_with_both_names_for_the_same_relay_is_one_stop(api, fleet):
    running = fleet["running"]
    response = api.post("/api/container/stop", {"container_id": running.pk,
                                                "instance_id": running.pk}, format="json")
    assert response.status_code == 202 and Operation.objects.count() == 1


def test_stop_naming_two_different_relays_is_a_400(api, fleet):
    before = contract.journal()
    contract.refused_naming(api.post("/api/container/stop", {"container_id": fleet["running"].pk,
                                                    "instance_id": fleet["stopped"].pk},
                            format="json"), "container_id")
    assert contract.journal() == before


@pytest.mark.parametrize("action", ["start", "restart", "remove", "migrate"])
@pytest.mark.parametrize("pk", [str(contract.HUGE), "0"])
def test_an_out_of_range_relay_id_in_the_path_is_a_404(api, fleet, action, pk):
    before = contract.journal()
    contract.not_found(api.post(f"/api/container/{pk}/{action}"))
    assert contract.journal() == before


@pytest.mark.parametrize("pk", ["abc", "-1", "1.5", "%20"])
def test_a_relay_id_that_is_not_a_number_matches_no_route(api, fleet, pk):
    contract.not_found(api.post(f"/api/container/{pk}/start"))


@pytest.mark.parametrize("query", ["user_id=abc", "server_id=-1", f"server_id={contract.HUGE}",
                                   "status=lost", "user_id=1.5"])
def test_bad_list_filters_are_a_400_naming_the_filter(api, fleet, query):
    contract.refused_naming(api.get(f"/api/container/list?{query}"), query.split("=")[0])


def test_the_customers_own_relays_keep_their_keys(fleet):
    body = token_client(fleet["renter"]).get("/api/container/mine").json()

    assert body["success"] is True
    assert {relay["id"] for relay in body["relays"]} == {fleet["running"].pk,
                                                          fleet["stopped"].pk}
    assert set(body["relays"][0]) == {"id", "server", "location", "hostname", "port", "status",
                                      "status_display", "message"}


def test_failover_takes_no_body_and_ignores_none(api, fleet):
    response = api.post("/api/ha/failover", format="json")
    assert response.status_code == 202
