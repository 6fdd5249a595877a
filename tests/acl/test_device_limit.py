"""The device limit: the most generous plan the customer rents, through an activated code or an
order paid for, found in one query that never joins the codes with the orders (at the issue's
scale that join built 50,000 × 20,000 rows and took 9 s)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.acl.services import max_devices_for
from apps.billing.models import Order, OrderKind, OrderStatus, Plan
from tests.acl.conftest import paid_code
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def plan(max_devices: int) -> Plan:
    return Plan.objects.create(name=f"{max_devices} devices", duration_days=30, price_fen=100,
                               max_devices=max_devices)


def order(buyer, max_devices: int, status=OrderStatus.COMPLETED, kind=OrderKind.PURCHASE) -> Order:
    return Order.objects.create(buyer=buyer, kind=kind, status=status, plan=plan(max_devices),
                                list_price_fen=100, amount_fen=100)


def test_without_a_code_or_an_order_the_default_limit_holds(customer, settings):
    settings.DEFAULT_MAX_DEVICES = 4
    assert max_devices_for(customer) == 4


def test_an_activated_code_sets_the_limit(customer):
    paid_code(customer, max_devices=2)
    assert max_devices_for(customer) == 2


def test_a_plan_bought_sets_the_limit(customer):
    order(customer, 6)
    assert max_devices_for(customer) == 6


def test_a_renewed_order_still_counts(customer):
    order(customer, 7, status=OrderStatus.RENEWED)
    assert max_devices_for(customer) == 7


def test_codes_and_orders_both_count_and_the_largest_plan_wins(customer):
    paid_code(customer, max_devices=3)
    paid_code(customer, max_devices=8)
    order(customer, 5)
    assert max_devices_for(customer) == 8
    order(customer, 12, kind=OrderKind.RENEWAL)
    assert max_devices_for(customer) == 12


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.CANCELLED, OrderStatus.REFUNDED])
def test_an_order_not_paid_for_does_not_count(customer, settings, status):
    settings.DEFAULT_MAX_DEVICES = 2
    order(customer, 20, status=status)
    assert max_devices_for(customer) == 2


def test_other_customers_codes_and_orders_do_not_count(customer, settings):
    settings.DEFAULT_MAX_DEVICES = 2
    other = UserFactory()
    paid_code(other, max_devices=30)
    order(other, 40)
    assert max_devices_for(customer) == 2


def test_one_query_without_joining_codes_and_orders_however_many_there_are(customer):
    def statements():
        with CaptureQueriesContext(connection) as captured:
            assert max_devices_for(customer) == 9
        return [query["sql"] for query in captured.captured_queries]

    paid_code(customer, max_devices=9)
    order(customer, 4)
    few = statements()
    for n in range(20):
        paid_code(customer, max_devices=2)
        order(customer, 3)
    many = statements()
    assert len(few) == len(many) == 1
    assert "JOIN" not in many[0].upper()  # the plans, each tested by a semi-join (IN …)
