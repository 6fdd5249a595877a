"""The ops dashboard (/ops/) leads with the numbers the business runs on: active customers and
those ending within 7 days, running and failed relays, unhealthy servers, pending payments and
today's revenue (the money only for those who may see finance); then the open alerts, the
customers short of relays, the latest operations and the latest of the system log. Every number
is one bounded query: the page runs as many queries with ten times the rows."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import RentalState, Role
from apps.billing.models import Order, OrderKind, OrderStatus
from apps.containers.models import InstanceStatus
from apps.monitoring import services as alerts
from apps.monitoring.models import AlertType, Severity
from apps.operations.models import Operation, OperationKind
from apps.servers.models import ServerStatus
from tests.conftest import signed_in_client
from tests.containers.conftest import make_server, relay
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 1, 10, 4, 0, tzinfo=UTC)  # 12:00 on 10 January in Asia/Shanghai
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def figure(body: str, name: str) -> str:
    found = re.search(rf'id="figure-{name}">([^<]*)<', body)
    return found.group(1) if found else None


def customer(name: str, state: str = RentalState.ACTIVE, *, ends=NOW + 30 * DAY, **fields):
    return UserFactory(username=name, rental_state=state, rental_expiry=ends, **fields)


def order(buyer, status: str, amount_fen: int, *, kind: str = OrderKind.PURCHASE,
          completed_at=None) -> Order:
    return Order.objects.create(buyer=buyer, kind=kind, status=status, list_price_fen=amount_fen,
                                amount_fen=amount_fen, completed_at=completed_at)


@pytest.fixture
def business(distributor):
    """A known day: each line says whether and how it counts."""
    customer("a")                                        # active
    customer("b", ends=NOW + 3 * DAY)                    # active, ends within 7 days
    customer("c", ends=NOW + 7 * DAY)                    # active, ends exactly in 7 days
    customer("d", ends=NOW + 8 * DAY)                    # active, ends later
    customer("e", ends=NOW - timedelta(hours=1))         # past its end, not yet suspended: expired
    customer("f", RentalState.SUSPENDED, ends=NOW - DAY)  # suspended
    customer("g", RentalState.DEREGISTERED, ends=NOW - 40 * DAY)
    customer("h", ends=NOW + 2 * DAY, is_active=False)   # account disabled by an operator
    customer("i", ends=NOW + 2 * DAY, deleted_at=NOW - DAY)  # a deleted account
    UserFactory(username="staffer", role=Role.ADMIN, rental_state=RentalState.ACTIVE,
                rental_expiry=NOW + DAY)                 # not a customer

    servers = [make_server(name=f"node-{n}") for n in range(3)]
    make_server(name="sick", status=ServerStatus.UNHEALTHY)
    make_server(name="full", status=ServerStatus.OVER_QUOTA)
    make_server(name="resting", status=ServerStatus.MAINTENANCE)
    owner = customer("relays")
    for server, status in zip(servers, (InstanceStatus.RUNNING, InstanceStatus.RUNNING,
                                        InstanceStatus.MIGRATING), strict=True):
        relay(owner, server, status=status)              # serving: 3
    other = customer("relays2")
    relay(other, servers[0], status=InstanceStatus.ERROR)
    relay(other, servers[1], status=InstanceStatus.ERROR)  # failed: 2
    relay(other, servers[2], status=InstanceStatus.PENDING)  # being set up: 1
    third = customer("relays3")
    relay(third, servers[0], status=InstanceStatus.STOPPED)
    relay(third, servers[1], status=InstanceStatus.REMOVED)

    buyer = customer("buyer")
    today_0001 = datetime(2030, 1, 9, 16, 1, tzinfo=UTC)   # 00:01 on the 10th in Shanghai
    yesterday_2359 = datetime(2030, 1, 9, 15, 59, tzinfo=UTC)
    order(buyer, OrderStatus.COMPLETED, 39_00, completed_at=NOW - timedelta(hours=3))
    order(buyer, OrderStatus.RENEWED, 199_00, kind=OrderKind.RENEWAL, completed_at=NOW - DAY / 4)
    order(buyer, OrderStatus.COMPLETED, 5_00, completed_at=today_0001)
    order(buyer, OrderStatus.COMPLETED, 7_00, completed_at=yesterday_2359)       # yesterday
    order(buyer, OrderStatus.REFUNDED, 100_00, completed_at=NOW - timedelta(hours=1))
    order(buyer, OrderStatus.CANCELLED, 300_00)
    order(buyer, OrderStatus.COMPLETED, 500_00, kind=OrderKind.TOP_UP,           # prepaid money
          completed_at=NOW - timedelta(hours=2))
    order(buyer, OrderStatus.PENDING, 39_00)                                      # pending
    order(distributor, OrderStatus.PENDING, 1_000_00, kind=OrderKind.CODE_BATCH)  # finance's


def test_the_key_numbers_of_a_known_day(superadmin, business):
    body = signed_in_client(superadmin).get("/ops/").content.decode()

    assert figure(body, "active-customers") == "8"  # a, b, c, d, three relay owners, the buyer
    assert figure(body, "expiring-customers") == "2"  # b, c
    assert figure(body, "suspended-customers") == "1"
    assert figure(body, "running-relays") == "3"
    assert figure(body, "failed-relays") == "2"
    assert "1 being set up" in body
    assert figure(body, "unhealthy-servers") == "1"
    assert "Unhealthy servers (of 6)" in body and "1 over quota" in body
    assert figure(body, "pending-payments") == "2"
    assert 'href="/admin/billing/order/?status__exact=pending"' in body
    assert figure(body, "pending-amount") == "¥1,039.00"
    # 39 + 199 (renewed still counts) + 5 (just after midnight, panel time); not yesterday's 7,
    # the refunded 100, the cancelled 300, the 500 top-up or the pending orders.
    assert figure(body, "revenue-today") == "¥243.00"


def test_those_who_may_not_see_finance_see_no_money(admin_user, business):
    body = signed_in_client(admin_user).get("/ops/").content.decode()

    assert figure(body, "revenue-today") is None
    assert figure(body, "pending-amount") is None
    assert "¥" not in body
    assert figure(body, "pending-payments") == "1"  # the customer's; the batch is finance's
    assert figure(body, "active-customers") == "8"  # the rest is theirs to see


def test_an_admin_granted_finance_sees_todays_revenue(admin_user, business):
    admin_user.user_permissions.add(Permission.objects.get(
        content_type__app_label="billing", codename="view_finance"))

    body = signed_in_client(admin_user).get("/ops/").content.decode()

    assert figure(body, "revenue-today") == "¥243.00"
    assert 'href="/ops/finance/"' in body


def test_each_group_is_shown_only_to_who_may_read_it(admin_user, business):
    group = Group.objects.get(name=Role.ADMIN)
    group.permissions.remove(*Permission.objects.filter(
        content_type__app_label__in=["servers", "containers", "operations"], codename__startswith="view_"))

    body = signed_in_client(admin_user).get("/ops/").content.decode()

    assert figure(body, "running-relays") is None and figure(body, "failed-relays") is None
    assert figure(body, "unhealthy-servers") is None
    assert "Recent operations" not in body
    assert figure(body, "active-customers") == "8"


def test_an_empty_panel_shows_zeros_not_placeholders(superadmin):
    body = signed_in_client(superadmin).get("/ops/").content.decode()

    for name in ("open-alerts", "active-customers", "expiring-customers", "running-relays", "failed-relays",
                 "unhealthy-servers", "pending-payments"):
        assert figure(body, name) == "0", name
    assert figure(body, "revenue-today") == "¥0.00"
    assert "No open alerts" in body and "No operations yet." in body


def test_the_order_numbers_alerts_shortfalls_operations_activity(superadmin, business):
    alerts.open_alert(type=AlertType.SERVER_UNHEALTHY, target=make_server(name="down"),
                      severity=Severity.CRITICAL, message="down does not answer SSH")
    body = signed_in_client(superadmin).get("/ops/").content.decode()

    assert figure(body, "open-alerts") == "1"
    marks = ['id="key-numbers"', 'id="open-alerts"', 'id="short-of-relays"',
             "Recent operations", "Recent activity"]
    assert [body.index(mark) for mark in marks] == sorted(body.index(mark) for mark in marks)


def test_the_latest_ten_operations_newest_first(superadmin):
    made = [Operation.objects.create(kind=OperationKind.RECONCILE, target_label=f"node-{n}",
                                     created_at=NOW - timedelta(minutes=20 - n))
            for n in range(12)]

    body = signed_in_client(superadmin).get("/ops/").content.decode()

    listed = [int(pk) for pk in re.findall(r'data-operation-id="(\d+)"', body)]
    assert listed == [op.pk for op in reversed(made)][:10]
    assert 'href="/ops/operations/"' in body


def _world(size: int, distributor):
    """`size` of everything the dashboard counts or lists."""
    for n in range(size):
        owner = customer(f"c{size}-{n}", ends=NOW + (n % 10) * DAY)
        server = make_server(name=f"s{size}-{n}",
                             status=(ServerStatus.HEALTHY, ServerStatus.UNHEALTHY)[n % 2])
        relay(owner, server, status=(InstanceStatus.RUNNING, InstanceStatus.ERROR)[n % 2])
        order(owner, OrderStatus.COMPLETED, 100, completed_at=NOW - timedelta(minutes=n))
        order(owner, OrderStatus.PENDING, 100)
        Operation.objects.create(kind=OperationKind.RECONCILE, target_label=server.name)
        alerts.open_alert(type=AlertType.SERVER_UNHEALTHY, target=server,
                          severity=Severity.CRITICAL, message="down")


@pytest.mark.parametrize("persona", ["superadmin", "admin_user"])
def test_the_query_count_does_not_grow_with_the_data(request, persona, distributor):
    viewer = request.getfixturevalue(persona)
    client = signed_in_client(viewer)

    def count() -> int:
        client.get("/ops/")  # caches warm
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/ops/").status_code == 200
        return len(captured)

    _world(2, distributor)
    small = count()
    _world(12, distributor)
    assert count() == small
