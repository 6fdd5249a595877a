"""/ops/servers/: a page of servers at a time, by name, with filters; what it costs does not
grow with the fleet."""

import pytest

from apps.containers.models import InstanceStatus
from apps.servers.models import ServerStatus
from apps.servers.views import PAGE_SIZE
from tests.conftest import signed_in_client
from tests.factories import UserFactory
from tests.query_budget import queries_for


@pytest.fixture
def ops(admin_user):
    return signed_in_client(admin_user)


def names_on(response) -> list[str]:
    return [server.name for server in response.context["page"].object_list]


def test_fifty_servers_a_page_in_name_order_with_the_way_to_the_next(ops, make_server):
    for number in range(PAGE_SIZE + 5):
        make_server(f"srv-{number:03d}")

    first = ops.get("/ops/servers/")
    second = ops.get("/ops/servers/", {"page": 2})

    assert names_on(first) == [f"srv-{n:03d}" for n in range(PAGE_SIZE)]
    assert names_on(second) == [f"srv-{n:03d}" for n in range(PAGE_SIZE, PAGE_SIZE + 5)]
    assert "?page=2" in first.content.decode()
    assert "55 servers" in first.content.decode()


def test_each_server_counts_only_its_own_live_relays(ops, make_server, place_relay):
    busy = make_server("a-busy")
    make_server("b-quiet")
    for port in range(3):
        place_relay(UserFactory(), busy, port=busy.port_range_start + port)
    place_relay(UserFactory(), busy, port=busy.port_range_start + 5, status=InstanceStatus.REMOVED)

    page = ops.get("/ops/servers/").context["page"]

    assert [(server.name, server.relays) for server in page.object_list] == [
        ("a-busy", 3), ("b-quiet", 0)]


def test_the_filters_find_servers_by_text_status_and_region(ops, make_server):
    make_server("bj-1", location="Beijing", region="cn-beijing")
    make_server("sh-1", location="Shanghai", region="cn-shanghai", status=ServerStatus.DRAINING)
    make_server("sh-2", public_ip="203.0.113.9", region="cn-shanghai", aliyun_account="13900139000")

    def found(**query):
        response = ops.get("/ops/servers/", query)
        assert response.status_code == 200
        return names_on(response)

    assert found(q="beij") == ["bj-1"]
    assert found(q="203.0.113") == ["sh-2"]
    assert found(status="draining") == ["sh-1"]
    assert found(region="cn-shanghai") == ["sh-1", "sh-2"]
    assert found(region="cn-shanghai", status="healthy") == ["sh-2"]
    assert "No server matches these filters." in ops.get("/ops/servers/", {"q": "nowhere"}).content.decode()


def test_a_bad_filter_is_a_400_that_lists_nothing_and_says_why(ops, make_server):
    make_server("bj-1")
    response = ops.get("/ops/servers/", {"status": "on-fire"})
    assert response.status_code == 400
    assert names_on(response) == []
    assert "Select a valid choice" in response.content.decode()


def test_a_page_past_the_end_shows_the_last_page(ops, make_server):
    make_server("only")
    assert names_on(ops.get("/ops/servers/", {"page": 99})) == ["only"]
    assert names_on(ops.get("/ops/servers/", {"page": "x"})) == ["only"]


def test_the_queries_do_not_grow_with_servers_or_relays(ops, make_server, place_relay):
    def seed(servers: int, relays_each: int):
        for _n in range(servers):
            server = make_server()
            for port in range(relays_each):
                place_relay(UserFactory(), server, port=server.port_range_start + port)

    seed(3, 1)
    _response, small = queries_for(ops, "/ops/servers/")
    seed(PAGE_SIZE + 10, 3)
    response, large = queries_for(ops, "/ops/servers/")
    assert len(response.context["page"].object_list) == PAGE_SIZE
    assert large == small


def test_relays_are_counted_for_the_shown_servers_only_not_those_skipped(ops, make_server):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for number in range(PAGE_SIZE + 2):
        make_server(f"srv-{number:03d}")
    with CaptureQueriesContext(connection) as captured:
        assert ops.get("/ops/servers/", {"page": 2}).status_code == 200
    paged = [q["sql"] for q in captured if "OFFSET" in q["sql"].upper()]
    assert paged and not any("containers_derpinstance" in sql for sql in paged)
