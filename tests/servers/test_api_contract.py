"""The server API's contract: strict JSON types (a wrong type is a 400 naming the field, nothing
saved, nobody dialled), ids in paths that are whole numbers (out of range: 404, never a 500),
and the seed's keys: server_id from add, a top-level status from the health check."""

import pytest

from apps.servers.models import Server, ServerStatus
from tests import api_contract as contract
from tests.conftest import token_client
from tests.servers.conftest import nothing_remote_happened

PORTS = {"a word": "many", "a fraction": 30000.5, "a boolean": True, "a list": [30000],
         "huge": contract.HUGE}


@pytest.fixture
def api(fleet_admin):
    return token_client(fleet_admin)


@pytest.mark.parametrize(**contract.wrong({
    **dict.fromkeys(["name", "public_ip", "ssh_secret", "ssh_user", "domain", "ssh_auth",
                     "expected_host_key_fingerprint", "cert_pem"], contract.NOT_STRINGS),
    **dict.fromkeys(["port_range_start", "ssh_port", "max_containers", "monthly_quota_gb",
                     "quota_reset_day"], PORTS)}))
def test_adding_with_a_wrong_type_is_a_400_naming_the_field(api, remote, fake_engine,
                                                            new_server_data, field, value):
    before = contract.journal()

    response = api.post("/api/server/add", {**new_server_data, field: value}, format="json")

    contract.refused_naming(response, field)
    assert Server.objects.count() == 0 and contract.journal() == before
    assert nothing_remote_happened(remote, fake_engine)


def test_adding_with_an_array_body_is_a_400(api, remote, fake_engine, new_server_data):
    contract.refused_as_not_an_object(api.post("/api/server/add", [new_server_data], format="json"))
    assert Server.objects.count() == 0


def test_adding_answers_the_seeds_server_id(api, remote, fake_engine, new_server_data):
    response = api.post("/api/server/add", new_server_data, format="json")

    assert response.status_code == 202, response.content[:300]
    body = response.json()
    assert body["server_id"] == body["server"]["id"] == Server.objects.get().pk


def test_the_list_answers_servers_and_their_count(api, make_server):
    make_server("one")

    body = api.get("/api/server/list").json()

    assert body["success"] is True and body["count"] == 1
    assert [server["name"] for server in body["servers"]] == ["one"]


@pytest.mark.parametrize("statuses, expected", [
    ([ServerStatus.HEALTHY, ServerStatus.HEALTHY], "healthy"),
    ([ServerStatus.HEALTHY, ServerStatus.UNHEALTHY], "degraded"),
    ([ServerStatus.UNHEALTHY, ServerStatus.DRAINING], "unhealthy"),
])
def test_the_health_check_answers_the_seeds_top_level_status(api, remote, make_server,
                                                             statuses, expected):
    for status in statuses:
        make_server(status=status)

    response = api.get("/api/server/health_check")

    assert response.status_code == 202
    assert response.json()["status"] == expected


def test_the_health_check_of_one_server_says_that_servers_status(api, remote, make_server):
    make_server(status=ServerStatus.HEALTHY)
    sick = make_server(status=ServerStatus.UNHEALTHY)

    response = api.get(f"/api/server/health_check?server_id={sick.pk}")

    assert response.status_code == 202 and response.json()["status"] == "unhealthy"


@pytest.mark.parametrize("value", ["abc", "1.5", "-1", "0", str(contract.HUGE), "true"])
def test_a_bad_server_id_in_the_health_check_is_a_400(api, remote, make_server, value):
    make_server()
    before = contract.journal()

    contract.refused_naming(api.get(f"/api/server/health_check?server_id={value}"), "server_id")
    assert contract.journal() == before and remote.calls == []


@pytest.mark.parametrize(**contract.wrong({"status": contract.NOT_STRINGS}))
def test_setting_a_status_of_the_wrong_type_is_a_400(api, make_server, field, value):
    server = make_server(status=ServerStatus.HEALTHY)
    before = contract.journal()

    contract.refused_naming(api.post(f"/api/server/{server.pk}/status", {field: value}, format="json"),
                   field)
    server.refresh_from_db()
    assert server.status == ServerStatus.HEALTHY and contract.journal() == before


@pytest.mark.parametrize(**contract.wrong({"expected_fingerprint": contract.NOT_STRINGS}))
def test_repinning_with_a_fingerprint_of_the_wrong_type_is_a_400(api, remote, make_server,
                                                                 field, value):
    server = make_server()
    before = contract.journal()

    contract.refused_naming(api.post(f"/api/server/{server.pk}/repin", {field: value}, format="json"),
                   field)
    assert contract.journal() == before and remote.calls == []


@pytest.mark.parametrize("method, suffix", [
    ("get", ""), ("delete", ""), ("post", "/repin"), ("post", "/status"), ("post", "/reconcile"),
    ("post", "/drain"), ("get", "/metrics?metric=load1"), ("post", "/speed_test")])
def test_a_huge_server_id_in_the_path_is_a_404(api, make_server, method, suffix):
    make_server()
    before = contract.journal()

    contract.not_found(getattr(api, method)(f"/api/server/{contract.HUGE}{suffix}", {}, format="json"))
    assert contract.journal() == before


@pytest.mark.parametrize("suffix", ["abc", "-1", "1.5"])
def test_a_server_id_that_is_not_a_number_matches_no_route(api, suffix):
    contract.not_found(api.get(f"/api/server/{suffix}"))

