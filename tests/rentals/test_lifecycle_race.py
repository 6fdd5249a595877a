"""Two lifecycle jobs at once (two beats, or a run slower than its interval) over many due
rentals send each reminder and each suspension e-mail exactly once; renewals arriving while the
job runs neither deadlock with it nor are lost (PostgreSQL: real row locks, SKIP LOCKED)."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import RentalState, User
from apps.notifications import services as notifications
from apps.notifications.models import OutboundEmail
from apps.operations import services as operations
from apps.rentals import services
from apps.rentals.models import Reminder
from tests.commerce.races import run_together
from tests.factories import UserFactory

RENTALS = 60  # half reminded, half suspended


@pytest.fixture
def quiet_broker(monkeypatch):
    """The broker is only ever hinted; the rows are what the test reads."""
    monkeypatch.setattr(operations, "send", lambda operation_id, **kw: True)
    monkeypatch.setattr(notifications, "_kick_dispatcher", lambda: None)


@pytest.fixture
def due(transactional_db, quiet_broker, time_machine):
    """RENTALS customers; the clock moved to half a day before the end of the 30-day ones (a
    1-day reminder due) and past the end of the 5-day ones (a suspension due)."""
    staff = UserFactory(username="ops-race")
    customers = [UserFactory(username=f"racer{n}") for n in range(RENTALS)]
    for n, customer in enumerate(customers):
        services.extend(user=customer, days=30 if n % 2 else 5, actor=staff, via="test")
    time_machine.move_to(timezone.now() + timedelta(days=29, hours=12), tick=False)
    return customers


def sent(template: str) -> list[str]:
    return sorted(OutboundEmail.objects.filter(template=template).values_list("to", flat=True))


@pytest.mark.postgres
def test_two_jobs_at_once_send_each_mail_once(due, caplog):
    reminded = sorted(c.email for n, c in enumerate(due) if n % 2)
    suspended = sorted(c.email for n, c in enumerate(due) if not n % 2)

    with caplog.at_level(logging.ERROR, logger="apps.rentals.services"):
        outcomes, unexpected = run_together(2, lambda n: services.advance_due(batch=7))

    assert unexpected == [] and outcomes == ["ok", "ok"]
    assert not caplog.records  # no rental's step failed
    assert sent("rental-reminder") == reminded
    assert sent("rental-suspended") == suspended
    assert Reminder.objects.count() == len(reminded)
    assert User.objects.filter(rental_state=RentalState.SUSPENDED).count() == len(suspended)
    assert services.advance_due() == 0  # and nothing is left due


@pytest.mark.postgres
def test_renewals_while_the_job_runs_neither_deadlock_nor_get_lost(due, caplog):
    staff = User.objects.get(username="ops-race")
    renewed = [c for n, c in enumerate(due) if not n % 2]

    def racer(n: int):
        if n < 2:
            services.advance_due(batch=5)
        else:
            for customer in renewed[n - 2::2]:
                services.extend(user=customer, days=30, actor=staff, via="test")

    with caplog.at_level(logging.ERROR, logger="apps.rentals.services"):
        outcomes, unexpected = run_together(4, racer)

    assert unexpected == [] and outcomes == ["ok"] * 4
    assert not caplog.records
    services.advance_due()  # whatever the job skipped while a renewal held it
    for customer in renewed:
        customer.refresh_from_db()
        assert customer.rental_state == RentalState.ACTIVE  # renewed, whether suspended first or not
        assert customer.rental_expiry > timezone.now() + timedelta(days=29)
    assert len(sent("rental-suspended")) == len(set(sent("rental-suspended"))) <= len(renewed)
    assert sent("rental-reminder") == sorted(c.email for n, c in enumerate(due) if n % 2)
