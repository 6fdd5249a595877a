"""Bad input to the relay API: a clear message in the envelope, a 4xx at once (no server is
asked), and nothing changed or queued."""

import pytest

from apps.containers.models import DerpInstance, InstanceStatus
from apps.operations.models import Operation
from apps.servers.models import ServerStatus
from tests.conftest import token_client
from tests.containers.conftest import make_server, relay
from tests.factories import UserFactory

HUGE = 10**30


@pytest.fixture
def world(fleet, admin_user, distributor, fake_engine):
    full = make_server(name="full", max_containers=1)
    relay(UserFactory(), full)
    return {**fleet, "admin": admin_user, "distributor": distributor, "no_rental": UserFactory(),
            "full": full, "sick": make_server(name="sick", status=ServerStatus.UNHEALTHY)}


CASES = {  # name: (path, body, status, error code)
    "assign without user": ("/api/container/assign", lambda w: {}, 400, "invalid"),
    "assign user not a number": ("/api/container/assign", lambda w: {"user_id": "abc"}, 400, "invalid"),
    "assign user a fraction": ("/api/container/assign", lambda w: {"user_id": 1.5}, 400, "invalid"),
    "assign user a boolean": ("/api/container/assign", lambda w: {"user_id": True}, 400, "invalid"),
    "assign user too big": ("/api/container/assign", lambda w: {"user_id": HUGE}, 400, "invalid"),
    "assign unknown user": ("/api/container/assign", lambda w: {"user_id": 987654}, 404, "unknown_user"),
    "assign an admin": ("/api/container/assign", lambda w: {"user_id": w["admin"].pk}, 400,
                        "not_a_customer"),
    "assign without rental": ("/api/container/assign", lambda w: {"user_id": w["no_rental"].pk}, 409,
                              "no_active_rental"),
    "assign zero servers": ("/api/container/assign",
                            lambda w: {"user_id": w["renter"].pk, "servers": 0}, 400, "invalid"),
    "assign servers text": ("/api/container/assign",
                            lambda w: {"user_id": w["renter"].pk, "servers": "three"}, 400, "invalid"),
    "assign unknown server ids": ("/api/container/assign",
                                  lambda w: {"user_id": w["renter"].pk, "server_ids": [987654]},
                                  404, "unknown_servers"),
    "assign a huge server id": ("/api/container/assign",
                                lambda w: {"user_id": w["renter"].pk, "server_ids": [HUGE]},
                                400, "invalid"),
    "assign server ids not a list": ("/api/container/assign",
                                     lambda w: {"user_id": w["renter"].pk, "server_ids": {"a": 1}},
                                     400, "invalid"),
    "assign more pins than servers": ("/api/container/assign",
                                      lambda w: {"user_id": w["renter"].pk, "servers": 1,
                                                 "server_ids": [s.pk for s in w["servers"][:2]]},
                                      400, "invalid"),
    "assign a list body": ("/api/container/assign", lambda w: [1, 2], 400, "parse_error"),
    "allocate without server": ("/api/container/allocate", lambda w: {"user_id": w["renter"].pk},
                                400, "invalid"),
    "allocate server not a number": ("/api/container/allocate",
                                     lambda w: {"user_id": w["renter"].pk, "server_id": "1e3"},
                                     400, "invalid"),
    "allocate unknown server": ("/api/container/allocate",
                                lambda w: {"user_id": w["renter"].pk, "server_id": 987654},
                                404, "unknown_servers"),
    "allocate unknown user": ("/api/container/allocate",
                              lambda w: {"user_id": 987654, "server_id": w["servers"][2].pk},
                              404, "unknown_user"),
    "allocate for a distributor": ("/api/container/allocate",
                                   lambda w: {"user_id": w["distributor"].pk,
                                              "server_id": w["servers"][2].pk}, 400, "not_a_customer"),
    "allocate on a full server": ("/api/container/allocate",
                                  lambda w: {"user_id": w["renter"].pk, "server_id": w["full"].pk},
                                  409, "no_capacity"),
    "allocate on an unhealthy server": ("/api/container/allocate",
                                        lambda w: {"user_id": w["renter"].pk, "server_id": w["sick"].pk},
                                        409, "server_not_placeable"),
    "allocate a second relay on a server": ("/api/container/allocate",
                                            lambda w: {"user_id": w["renter"].pk,
                                                       "server_id": w["servers"][0].pk},
                                            409, "already_placed"),
    "stop nothing named": ("/api/container/stop", lambda w: {}, 400, "invalid"),
    "stop both named": ("/api/container/stop",
                        lambda w: {"instance_id": w["running"].pk, "user_id": w["renter"].pk},
                        400, "invalid"),
    "stop instance not a number": ("/api/container/stop", lambda w: {"instance_id": "x"}, 400,
                                   "invalid"),
    "stop unknown instance": ("/api/container/stop", lambda w: {"instance_id": 987654}, 404,
                              "not_found"),
    "stop a stopped relay": ("/api/container/stop", lambda w: {"instance_id": w["stopped"].pk}, 409,
                             "wrong_state"),
    "stop for an unknown user": ("/api/container/stop", lambda w: {"user_id": 987654}, 404,
                                 "unknown_user"),
    "start a running relay": (lambda w: f"/api/container/{w['running'].pk}/start", None, 409,
                              "wrong_state"),
    "start an unknown relay": ("/api/container/987654/start", None, 404, "not_found"),
    "start a huge id": (f"/api/container/{HUGE}/start", None, 404, "not_found"),
    "start a word": ("/api/container/abc/start", None, 404, "not_found"),
    "restart an unknown relay": ("/api/container/987654/restart", None, 404, "not_found"),
    "remove an unknown relay": ("/api/container/987654/remove", None, 404, "not_found"),
    "migrate to an unknown server": (lambda w: f"/api/container/{w['running'].pk}/migrate",
                                     lambda w: {"target_server_id": 987654}, 404, "unknown_servers"),
    "migrate target not a number": (lambda w: f"/api/container/{w['running'].pk}/migrate",
                                    lambda w: {"target_server_id": "next"}, 400, "invalid"),
    "migrate to the same server": (lambda w: f"/api/container/{w['running'].pk}/migrate",
                                   lambda w: {"target_server_id": w["servers"][0].pk}, 400,
                                   "same_server"),
    "migrate to an unhealthy server": (lambda w: f"/api/container/{w['running'].pk}/migrate",
                                       lambda w: {"target_server_id": w["sick"].pk}, 409, "no_capacity"),
    "migrate to a full server": (lambda w: f"/api/container/{w['running'].pk}/migrate",
                                 lambda w: {"target_server_id": w["full"].pk}, 409, "no_capacity"),
}


def snapshot():
    return list(DerpInstance.objects.order_by("pk").values_list("pk", "status", "server_id", "port"))


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_and_changes_nothing(world, fake_engine, case):
    path, body, status, code = CASES[case]
    before = snapshot()
    client = token_client(world["admin"])

    response = client.post(path(world) if callable(path) else path,
                           body(world) if body else None, format="json")

    assert response.status_code == status, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert snapshot() == before
    assert not Operation.objects.exists()
    assert fake_engine.calls == []


@pytest.mark.parametrize("query", ["user_id=abc", "server_id=1.5", f"user_id={HUGE}", "status=lost",
                                   "page=x", "page_size=0"])
def test_bad_list_filters_are_400(world, query):
    response = token_client(world["admin"]).get(f"/api/container/list?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_unknown_ids_in_list_filters_find_nothing(world):
    body = token_client(world["admin"]).get("/api/container/list?user_id=987654").json()
    assert body["success"] is True and body["results"] == []


def test_stopping_a_user_with_nothing_running_stops_nothing(world, fake_engine):
    response = token_client(world["admin"]).post(
        "/api/container/stop", {"user_id": world["no_rental"].pk}, format="json")
    assert response.status_code == 202
    assert response.json() == {"success": True, "operations": []}
    assert not Operation.objects.exists()


def test_a_pending_relay_cannot_be_moved(world, fake_engine):
    pending = relay(UserFactory(), world["servers"][3], status=InstanceStatus.PENDING)
    response = token_client(world["admin"]).post(f"/api/container/{pending.pk}/migrate")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_movable"
    assert not Operation.objects.exists()


def test_a_relay_with_work_under_way_refuses_other_work(world, fake_engine):
    client = token_client(world["admin"])
    stopping = client.post("/api/container/stop", {"instance_id": world["running"].pk},
                           format="json")
    assert stopping.status_code == 202

    response = client.post(f"/api/container/{world['running'].pk}/migrate")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "operation_in_progress"
    assert f"#{stopping.json()['operation']['id']}" in error["message"]
    assert list(Operation.objects.values_list("kind", flat=True)) == ["stop"]
