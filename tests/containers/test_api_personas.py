"""Every relay endpoint and page, asked by each persona: operators act (202: the work is queued
as an operation), customers read their own relays, everyone else is told nothing is there (404)
and queues nothing, anonymous callers authenticate."""

import pytest

from apps.containers.models import DerpInstance
from apps.operations.models import Operation
from tests.conftest import signed_in_client, token_client

PERSONAS = ["superadmin", "admin", "distributor", "user", "stranger"]


def expect(default: int = 404, **by_persona) -> dict:
    return {p: by_persona.get(p, default) for p in PERSONAS}


STAFF_200 = expect(superadmin=200, admin=200)
STAFF_202 = expect(superadmin=202, admin=202)
CUSTOMERS_200 = expect(user=200, stranger=200)

ENDPOINTS = {  # name: (method, path, body, expected status per persona)
    "assign": ("post", lambda f: "/api/container/assign",
               lambda f: {"user_id": f["renter"].pk, "servers": 3}, STAFF_202),
    "allocate": ("post", lambda f: "/api/container/allocate",
                 lambda f: {"user_id": f["renter"].pk, "server_id": f["servers"][2].pk}, STAFF_202),
    "stop": ("post", lambda f: "/api/container/stop",
             lambda f: {"instance_id": f["running"].pk}, STAFF_202),
    "start": ("post", lambda f: f"/api/container/{f['stopped'].pk}/start", None, STAFF_202),
    "restart": ("post", lambda f: f"/api/container/{f['running'].pk}/restart", None, STAFF_202),
    "remove": ("post", lambda f: f"/api/container/{f['running'].pk}/remove", None, STAFF_202),
    "migrate": ("post", lambda f: f"/api/container/{f['running'].pk}/migrate", None, STAFF_202),
    "list": ("get", lambda f: "/api/container/list", None, STAFF_200),
    "failover": ("post", lambda f: "/api/ha/failover", None, STAFF_202),
    "mine": ("get", lambda f: "/api/container/mine", None, CUSTOMERS_200),
}


def call(client, endpoint, fleet):
    method, path, body, _expected = ENDPOINTS[endpoint]
    if method == "get":
        return client.get(path(fleet))
    return client.post(path(fleet), body(fleet) if body else {}, format="json")


def snapshot():
    return list(DerpInstance.objects.order_by("pk").values_list("pk", "status", "server_id"))


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_persona_gets_the_right_answer(personas, fleet, fake_engine, endpoint, persona):
    before = snapshot()
    response = call(token_client(personas[persona]), endpoint, fleet)

    expected = ENDPOINTS[endpoint][3][persona]
    assert response.status_code == expected, response.content[:300]
    body = response.json()
    assert body["success"] is (expected < 400)
    assert fleet["running"].admission_token not in response.content.decode()
    # A request never talks to a server nor changes a relay: the operation does, later.
    assert snapshot() == before and fake_engine.calls == []
    if expected == 202:
        assert Operation.objects.get().requested_by == personas[persona]
        assert body["operation"]["id"] == Operation.objects.get().pk
    else:
        assert not Operation.objects.exists()
    if expected == 404:
        assert body["error"]["code"] == "not_found"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_callers_are_asked_to_authenticate(anon_api, fleet, fake_engine, endpoint):
    before = snapshot()
    response = call(anon_api, endpoint, fleet)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert snapshot() == before and fake_engine.calls == []
    assert not Operation.objects.exists()


PAGE = "/relays/mine/"


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_relay_fragment_is_for_customers_only(personas, fleet, persona):
    response = signed_in_client(personas[persona]).get(PAGE, headers={"HX-Request": "true"})
    assert response.status_code == CUSTOMERS_200[persona]
    if response.status_code == 404:
        assert b"fleet-a" not in response.content


def test_the_relay_fragment_sends_anonymous_visitors_to_sign_in(anon_client, fleet):
    response = anon_client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={PAGE}"


ADMIN_PAGES = ["/admin/containers/derpinstance/", "/admin/containers/derpinstance/{pk}/change/"]


@pytest.mark.parametrize("page", ADMIN_PAGES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_the_admin_pages_are_for_staff(personas, fleet, persona, page):
    response = signed_in_client(personas[persona]).get(page.format(pk=fleet["running"].pk))
    if persona in ("superadmin", "admin"):
        assert response.status_code == 200
        assert fleet["running"].admission_token not in response.content.decode()
    else:
        assert response.status_code == 404
        assert b"fleet-a" not in response.content
