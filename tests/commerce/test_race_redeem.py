"""50 customers type the same code at the same moment: exactly one gets the time."""

import pytest

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.distribution import services
from apps.distribution.models import ActivationCode, CodeStatus
from tests.commerce.races import run_together

RACERS = 50


@pytest.mark.postgres
def test_fifty_concurrent_redemptions_of_one_code_make_one_winner(transactional_db, customers,
                                                                  make_code):
    racers = customers(RACERS)
    code = make_code(30)

    outcomes, unexpected = run_together(
        RACERS, lambda n: services.redeem(user=racers[n], raw_code=code.display))

    assert unexpected == []
    assert sorted(outcomes) == ["code_used"] * (RACERS - 1) + ["ok"]
    code.refresh_from_db()
    assert code.status == CodeStatus.USED
    winner = User.objects.get(pk=code.user_id)
    assert winner.rental_state == "active"
    assert (winner.rental_expiry - code.used_at).days == 30  # extended once, by the plan's 30 days
    assert User.objects.filter(pk__in=[u.pk for u in racers], rental_expiry__isnull=False).count() == 1
    assert AuditEvent.objects.filter(action="distribution.code_redeemed").count() == 1
    assert AuditEvent.objects.filter(action="rentals.activated").count() == 1
    assert ActivationCode.objects.filter(user__isnull=False).count() == 1
