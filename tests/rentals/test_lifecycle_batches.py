"""The lifecycle job moves due rentals along a batch at a time: one transaction per batch with a
savepoint per rental, so a rental whose step breaks costs only itself, and the relays' admission
answers of a batch are invalidated together once it commits."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import RentalState, User
from apps.acl import admission
from apps.notifications import services as notifications
from apps.operations import services as operations
from apps.rentals import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ended(monkeypatch, time_machine):
    """Six customers whose five-day rentals ended an hour ago (suspensions due)."""
    monkeypatch.setattr(operations, "send", lambda operation_id, **kw: True)
    monkeypatch.setattr(notifications, "_kick_dispatcher", lambda: None)
    staff = UserFactory(username="ops-batches")
    customers = [UserFactory(username=f"batch{n}") for n in range(6)]
    for customer in customers:
        services.extend(user=customer, days=5, actor=staff, via="test")
    time_machine.move_to(timezone.now() + timedelta(days=5, hours=1), tick=False)
    return customers


def states(customers) -> list[str]:
    return [User.objects.get(pk=c.pk).rental_state for c in customers]


def test_the_admission_answers_of_a_batch_are_invalidated_together(
        ended, monkeypatch, django_capture_on_commit_callbacks):
    batches, singles = [], []
    monkeypatch.setattr(admission, "invalidate_users", lambda ids: batches.append(sorted(ids)))
    monkeypatch.setattr(admission, "invalidate_user", singles.append)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.advance_due(batch=4) == 6

    assert states(ended) == [RentalState.SUSPENDED] * 6
    assert sorted(len(batch) for batch in batches) == [2, 4]
    assert sorted(pk for batch in batches for pk in batch) == sorted(c.pk for c in ended)
    assert singles == []


def test_a_rental_whose_step_breaks_costs_only_itself(ended, monkeypatch, caplog):
    broken = ended[2]
    suspend = services._suspend_at_end

    def suspend_unless_broken(user, rental, now):
        if user.pk == broken.pk:
            raise RuntimeError("a broken rental")
        suspend(user, rental, now)

    monkeypatch.setattr(services, "_suspend_at_end", suspend_unless_broken)

    with caplog.at_level(logging.ERROR, logger="apps.rentals.services"):
        assert services.advance_due(batch=4) == 5

    assert states(ended) == [RentalState.SUSPENDED] * 2 + [RentalState.ACTIVE] \
        + [RentalState.SUSPENDED] * 3
    assert [r.getMessage() for r in caplog.records] == [
        f"rental {broken.pk}: the lifecycle step failed"]
    monkeypatch.setattr(services, "_suspend_at_end", suspend)
    assert services.advance_due() == 1  # still due, and the next run takes it
    assert states(ended) == [RentalState.SUSPENDED] * 6
