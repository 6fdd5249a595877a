"""Every customer page, portal page and list API runs as many queries with ten times the rows
(no query per row: an N+1 grows with the data), and no more than it runs today.

The data is benchmarks/support/scale_data.py's, at a thousandth and a hundredth of the issue's
scale (10 and 100 customers, 3 and 5 servers, 50 and 500 codes, 100 and 1,000 audit events…);
the routes are those benchmarks/scale.py times (benchmarks/support/scale_routes.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from benchmarks.support import scale_data
from benchmarks.support.scale_routes import ROUTES
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db

# The most queries each route may run (session, user, OTP device and the page's own); a route
# must not pass its bound at either size, nor run more at the larger one.
MOST = {
    "/api/acl/ping": 0,
    "/": 2,
    "/accounts/me/": 11,  # + the derpMap version, the devices and the plan's device limit
    "/acl/": 9,
    "/acl/devices/": 4,
    "/relays/mine/": 4,
    "/billing/activate/": 2,
    "/billing/buy/": 6,
    "/billing/orders/": 4,
    "/billing/balance/": 4,
    "/billing/summary/": 4,
    "/api/user/me": 1,
    "/api/user/me/rental": 6,
    "/api/user/me/traffic": 3,
    "/api/container/mine": 2,
    "/api/acl/devices": 3,
    "/api/acl/download?format=json": 4,
    "/api/orders": 3,
    "/api/operations": 3,
    "/api/billing/plans": 2,
    "/api/billing/balance": 3,
    "/portal/": 12,  # + sales this month: activations per month, batches, referred sales
    "/portal/codes/": 6,
    "/portal/orders/": 5,
    "/portal/codes/generate/": 8,
    "/api/distributor/serials": 3,
    "/api/server/list": 5,
    "/api/container/list": 3,
    "/api/logs/system": 5,
    "/api/acl/logs": 3,
    "/api/monitoring/alerts": 2,
    "/api/monitoring/load_analysis": 6,  # the fleet's relays counted in one grouped query
}


def clients(world) -> dict:
    def token(name):
        client = APIClient(headers={"accept-language": "en"})
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.tokens[name]}")
        return client

    names = ("superadmin", "admin", "distributor", "customer")
    return {**{(name, False): signed_in_client(world.persona(name)) for name in names},
            **{(name, True): token(name) for name in names}}


def counted(callers, routes) -> dict:
    """Per route, the statements of one request after a first one (caches warm)."""
    found = {}
    for path, persona in routes:
        client = callers[persona, path.startswith("/api/")]
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        assert response.status_code < 400, (path, persona, response.status_code)
        found[path, persona] = len(captured)
    return found


def at_two_sizes(personas: set[str]) -> tuple[dict, dict]:
    routes = [route for route in ROUTES if route[1] in personas]
    world = scale_data.people()
    callers = clients(world)
    scale_data.grow(world, scale_data.FULL.scaled(0.001))
    few = counted(callers, routes)
    scale_data.grow(world, scale_data.FULL.scaled(0.01))
    return few, counted(callers, routes)


def check(few: dict, many: dict) -> None:
    grown = {route: (few[route], many[route]) for route in few if many[route] > few[route]}
    assert not grown, f"queries grew with the rows: {grown}"
    over = {route: many[route] for route in many if many[route] > MOST[route[0]]}
    assert not over, f"more queries than the bound: {over}"


def test_the_customers_pages_and_apis_do_not_query_per_row():
    check(*at_two_sizes({"customer"}))


def test_the_distributors_portal_and_apis_do_not_query_per_row():
    check(*at_two_sizes({"distributor"}))


def test_the_staffs_list_apis_do_not_query_per_row():
    check(*at_two_sizes({"superadmin", "admin"}))
