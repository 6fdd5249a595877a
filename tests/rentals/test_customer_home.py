"""The customer's home (/accounts/me/): days left, relays, devices against the plan's limit, the
derpMap version and until when it is valid, and a button to renew (or to buy a first plan). The
page runs as many queries whatever the customer has."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import RentalState
from apps.acl.models import AclConfig, Device
from apps.billing.models import Order, OrderKind, OrderStatus, Plan
from apps.rentals import services as rentals
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 1, 10, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def rent(user, *, ends=NOW + 30 * DAY, state=RentalState.ACTIVE):
    user.rental_state, user.rental_expiry = state, ends
    user.save(update_fields=["rental_state", "rental_expiry"])
    return user


def fact(body: str, name: str) -> str | None:
    """The text of <dd class="name"> without its tags."""
    found = re.search(rf'<dd class="{name}">(.*?)</dd>', body, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)) if found else None


def home(user) -> str:
    return signed_in_client(user).get("/accounts/me/").content.decode()


def add_devices(user, n: int):
    start = Device.objects.count()
    for i in range(start, start + n):
        Device.objects.create(user=user, name=f"laptop-{i}", node_key=f"nodekey:{i:064x}")


def issue(user, version: int, *, expires_at):
    return AclConfig.objects.create(user=user, version=version, derp_map={"Regions": {}},
                                    issued_at=expires_at - 32 * DAY, expires_at=expires_at)


def bought(user, *, max_devices: int):
    plan = Plan.objects.create(name="Family", duration_days=90, price_fen=99_00,
                               max_devices=max_devices)
    Order.objects.create(buyer=user, kind=OrderKind.PURCHASE, status=OrderStatus.COMPLETED,
                         plan=plan, list_price_fen=99_00, amount_fen=99_00, completed_at=NOW)


@pytest.mark.parametrize(("ends", "shown"), [
    (NOW + 12 * DAY, "12 days"),
    (NOW + 11 * DAY + timedelta(hours=1), "12 days"),  # a started day counts
    (NOW + timedelta(hours=5), "1 day"),
    (NOW - timedelta(minutes=1), "Ended"),           # past the end, not yet suspended
])
def test_days_left(customer, ends, shown):
    assert fact(home(rent(customer, ends=ends)), "days-left") == shown


def test_a_suspended_rental_has_no_days_left(customer):
    rent(customer, ends=NOW - 3 * DAY, state=RentalState.SUSPENDED)
    assert fact(home(customer), "days-left") == "Ended"


def test_without_a_rental_there_are_no_days_to_count(customer):
    body = home(customer)
    assert fact(body, "days-left") is None
    assert 'class="button primary renew" href="/billing/buy/">Buy a plan</a>' in body


def test_devices_against_the_plans_limit(customer, stranger):
    rent(customer)
    bought(customer, max_devices=5)
    add_devices(customer, 3)
    add_devices(stranger, 4)  # someone else's

    body = home(customer)

    assert fact(body, "devices") == "3 of 5"
    assert '<a href="/acl/devices/">' in body


def test_without_a_plan_the_default_device_limit_applies(customer, settings):
    settings.DEFAULT_MAX_DEVICES = 7
    assert fact(home(rent(customer)), "devices") == "0 of 7"


def test_the_newest_derpmap_version_and_until_when_it_is_valid(customer, stranger):
    rent(customer)
    issue(customer, 1, expires_at=NOW + 2 * DAY)
    issue(customer, 2, expires_at=NOW + 31 * DAY)
    issue(stranger, 9, expires_at=NOW + 31 * DAY)

    body = home(customer)

    assert fact(body, "derp-map") == "Version 2, valid until 2030-02-10 12:00"  # Shanghai time
    assert '<a href="/acl/">' in body


def test_an_expired_derpmap_says_so(customer):
    rent(customer, ends=NOW - DAY, state=RentalState.SUSPENDED)
    issue(customer, 4, expires_at=NOW - DAY)
    assert fact(home(customer), "derp-map") == "Version 4, expired on 2030-01-09 12:00"


def test_no_derpmap_yet(customer):
    assert fact(home(rent(customer)), "derp-map") == "Not issued yet"


def test_the_renew_button_leads_to_the_renewal(customer):
    body = home(rent(customer))
    assert '<a class="button primary renew" href="/billing/buy/">Renew</a>' in body


def test_no_renew_button_while_an_operator_holds_the_rental(customer, admin_user):
    rent(customer)
    rentals.suspend(user=customer, actor=admin_user, reason="Unpaid invoice 42")
    assert 'class="button primary renew"' not in home(customer)


def test_the_query_count_does_not_grow_with_devices_and_versions(customer):
    rent(customer)
    bought(customer, max_devices=50)
    client = signed_in_client(customer)

    def count() -> int:
        client.get("/accounts/me/")
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/accounts/me/").status_code == 200
        return len(captured)

    add_devices(customer, 1)
    issue(customer, 1, expires_at=NOW + DAY)
    small = count()
    add_devices(customer, 20)
    for version in range(2, 12):
        issue(customer, version, expires_at=NOW + version * DAY)
    assert count() == small
