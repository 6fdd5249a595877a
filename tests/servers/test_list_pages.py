"""GET /api/server/list a page at a time, by name, with filters: a fleet of hundreds of servers
is never answered in one response (500 servers were 364 KB and seconds of a worker)."""

import pytest

from apps.containers.models import InstanceStatus
from apps.servers.models import ServerStatus
from tests.conftest import token_client
from tests.servers.conftest import refused

pytestmark = pytest.mark.django_db

URL = "/api/server/list"


def names(body) -> list[str]:
    return [server["name"] for server in body["servers"]]


def test_the_list_answers_a_page_of_servers_by_name_with_the_count_of_all(admin_user, make_server):
    for n in range(55):
        make_server(f"srv-{n:03}")
    client = token_client(admin_user)

    first = client.get(URL).json()
    second = client.get(URL, {"page": 2}).json()

    assert first["count"] == second["count"] == 55 and first["pages"] == 2
    assert names(first) == [f"srv-{n:03}" for n in range(50)]
    assert names(second) == [f"srv-{n:03}" for n in range(50, 55)]
    assert first["servers"] == first["results"]  # the seed's key and the paginated one
    assert names(client.get(URL, {"page_size": 5}).json()) == [f"srv-{n:03}" for n in range(5)]


def test_each_listed_server_counts_its_own_live_relays(admin_user, customer, stranger, make_server,
                                                       place_relay):
    servers = [make_server(f"srv-{n}") for n in range(3)]
    place_relay(customer, servers[2], port=30000)
    place_relay(stranger, servers[2], port=30001, status=InstanceStatus.REMOVED)

    body = token_client(admin_user).get(URL, {"page_size": 1, "page": 3}).json()

    assert names(body) == ["srv-2"] and body["servers"][0]["containers"] == 1


@pytest.mark.parametrize("query, expected", [
    ({"status": ServerStatus.DRAINING}, ["drained"]),
    ({"region": "eu"}, ["frankfurt"]),
    ({"q": "frank"}, ["frankfurt"]),  # part of the name
    ({"q": "127.0.1."}, ["drained", "frankfurt", "hangzhou"]),  # the start of the address
    ({"q": "Zhejiang"}, ["hangzhou"]),  # the location
])
def test_the_list_filters_by_status_region_and_what_one_types(admin_user, make_server, query,
                                                              expected):
    make_server("hangzhou", region="cn", location="Zhejiang")
    make_server("frankfurt", region="eu", location="Hesse")
    make_server("drained", region="cn", status=ServerStatus.DRAINING)

    body = token_client(admin_user).get(URL, query).json()

    assert names(body) == expected and body["count"] == len(expected)


@pytest.mark.parametrize("query", [{"status": "sideways"}, {"page": "x"}, {"page_size": "0"},
                                   {"q": "x" * 300}])
def test_a_bad_filter_or_page_is_a_400_naming_it(admin_user, query):
    error = refused(token_client(admin_user).get(URL, query), 400)
    assert set(error["fields"]) == set(query)
