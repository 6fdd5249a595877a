"""Every staff page benchmarks/scale.py times (the /ops/ lists, the finance page and its API, the
admin's lists; benchmarks/support/scale_routes_staff.py) runs as many queries with ten times the
rows: no query per row. The data is benchmarks/support/scale_data.py's at a thousandth and a
hundredth of the issue's scale; pages of one object (by id) are left to their own tests."""

import re

import pytest

from benchmarks.support import scale_data
from benchmarks.support.scale_routes_staff import ROUTES
from tests.project.test_list_queries import clients, counted

pytestmark = pytest.mark.django_db

LISTS = [route for route in ROUTES if not re.search(r"/\d+/", route[0])]


def test_the_staffs_pages_and_admin_lists_do_not_query_per_row():
    world = scale_data.people()
    callers = clients(world)
    scale_data.grow(world, scale_data.FULL.scaled(0.001))
    few = counted(callers, LISTS)
    scale_data.grow(world, scale_data.FULL.scaled(0.01))
    many = counted(callers, LISTS)
    grown = {route: (few[route], many[route]) for route in few if many[route] > few[route]}
    assert not grown, f"queries grew with the rows: {grown}"
