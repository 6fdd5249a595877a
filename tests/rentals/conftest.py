"""Rental fixtures: a customer who rents three relays (on servers the fake engine stands in
for), the clock moved to a moment of their rental, the lifecycle job run as beat runs it, and
what the customer was mailed."""

from datetime import timedelta

import pytest

from apps.containers.models import DerpInstance, InstanceStatus
from apps.notifications.models import OutboundEmail
from apps.rentals import services
from apps.rentals.models import Rental
from tests.acl.conftest import recorded  # noqa: F401  (the admission recorder, as a list)
from tests.containers.conftest import make_server
from tests.rentals import face


def mails(user, template: str | None = None) -> list[str]:
    """The templates of the e-mails queued for `user`, oldest first (one template: only those)."""
    emails = OutboundEmail.objects.filter(to=user.email).order_by("pk")
    if template is not None:
        emails = emails.filter(template=template)
    return list(emails.values_list("template", flat=True))


def reminder_days(user) -> list[int]:
    """The reminders sent to `user`, in the order sent: [days before the end, ...]."""
    return list(Rental.objects.get(pk=user.pk).reminders.order_by("pk")
                .values_list("days_before", flat=True))


def relays(user, *statuses) -> list[DerpInstance]:
    found = DerpInstance.objects.filter(user=user).order_by("pk")
    return list(found.filter(status__in=statuses) if statuses else found)


def rental(user) -> Rental:
    return Rental.objects.get(pk=user.pk)


@pytest.fixture
def servers(db, fake_engine):
    return [make_server(name=f"rent-{c}") for c in "abc"]


@pytest.fixture
def renting(customer, superadmin, servers, run_operations):
    """The customer activated 30 days (three relays, running); returns the customer."""
    services.extend(user=customer, days=30, actor=superadmin, via="test")
    run_operations()
    customer.refresh_from_db()
    assert len(relays(customer, InstanceStatus.RUNNING)) == 3
    return customer


@pytest.fixture
def at(time_machine):
    """Move the clock (and keep it there): at(when) or at(when, plus=timedelta(...))."""
    def move(when, *, plus: timedelta = timedelta(minutes=1)):
        time_machine.move_to(when + plus, tick=False)
    return move


@pytest.fixture
def sweep(run_operations):
    """One beat of the lifecycle job, then the relay work it asked for, as workers do it;
    returns how many rentals advanced."""
    def run() -> int:
        advanced = services.advance_due()
        run_operations()
        services.send_pending_relay_work()
        run_operations()
        return advanced
    return run


@pytest.fixture
def renter(customer, fake_engine, run_operations):
    """The customer, renting three relays that run on three servers (the surfaces' tests)."""
    face.servers(3)
    face.rent(customer)
    run_operations()
    return customer
