"""What the quota tests share: a server with a 100 GB quota resetting on the 5th, customers with
relays on it (the fake engine holds their containers), the clock as a `now=` value, and what
the customers were mailed."""

import datetime

import pytest
from django.utils import timezone, translation

from apps.accounts.models import RentalState
from apps.containers.models import DerpInstance, InstanceStatus
from apps.notifications.models import OutboundEmail
from apps.operations.models import Operation, OperationKind
from apps.traffic import quota
from tests.containers.conftest import give_rental, make_server, relay
from tests.factories import UserFactory

GB = 1024**3
QUOTA = 100 * GB


def at(year, month, day, hour=12) -> datetime.datetime:
    """A moment in the panel's time zone."""
    return timezone.make_aware(datetime.datetime(year, month, day, hour))


NOW = at(2026, 11, 20)  # the quota month under way began on 5 November, resets on 5 December
RESET_DAY = at(2026, 12, 5, 0) + datetime.timedelta(minutes=1)


def used(server, share: float):
    """The sampling round found the server at `share` of its quota."""
    server.traffic_month_bytes = int(server.monthly_quota_bytes * share)
    server.save(update_fields=["traffic_month_bytes"])
    return server


def month_reset(server):
    """What the sampling round does on the reset day: a new quota month from zero."""
    server.traffic_month_bytes = 0
    server.traffic_period_start = at(2026, 12, 5, 0)
    server.save(update_fields=["traffic_month_bytes", "traffic_period_start"])
    return server


def round_(server, now=NOW):
    """One sampling round's quota step (alert texts in English, to read them in the tests)."""
    with translation.override("en"):
        quota.after_sampling(server_ids=[server.pk], now=now)
    server.refresh_from_db()
    return server


def mails(user, template: str) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(to=user.email, template=template))


def quota_operations(server) -> list[Operation]:
    return list(Operation.objects.filter(kind=OperationKind.QUOTA, server_id=server.pk))


def fresh(instance) -> DerpInstance:
    return DerpInstance.objects.get(pk=instance.pk)


def customer(name: str, state: str = RentalState.ACTIVE):
    return give_rental(UserFactory(username=name, email=f"{name}@example.com"), state=state)


@pytest.fixture
def capped(db, fake_engine):
    """A server with a 100 GB quota resetting on the 5th and another without; alice rents
    relays on both, bob on the capped one only."""
    server = make_server(name="capped", monthly_quota_bytes=QUOTA, quota_reset_day=5)
    other = make_server(name="other")
    alice, bob = customer("alice"), customer("bob")
    relays = {"alice": relay(alice, server, engine=fake_engine),
              "alice-other": relay(alice, other, engine=fake_engine),
              "bob": relay(bob, server, engine=fake_engine)}
    return {"server": server, "other": other, "alice": alice, "bob": bob, "relays": relays}


@pytest.fixture
def three_relay_renter(db, fake_engine, customer, superadmin, run_operations):
    """The customer activated a 30-day rental of three relays (on three servers), running."""
    from apps.rentals import services as rentals

    for name in "abc":
        make_server(name=f"rent-{name}")
    rentals.extend(user=customer, days=30, actor=superadmin, via="test")
    run_operations()
    assert DerpInstance.objects.filter(user=customer, status=InstanceStatus.RUNNING).count() == 3
    return customer


def running_on_engine(engine, instance) -> bool:
    return engine.on(instance.server)[instance.container_name]["running"]


