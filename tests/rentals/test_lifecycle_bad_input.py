"""An operator's renewal with bad input (a past date, not a date, days that are not a whole
number from 1, both or neither, a deleted account): a clear message, a 4xx, nothing changed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.notifications.models import OutboundEmail
from apps.operations.models import Operation
from apps.rentals import services
from apps.rentals.models import Rental
from derpmgr.errors import ServiceError


def snapshot(user) -> tuple:
    rental = Rental.objects.filter(pk=user.pk).values_list(
        "period", "version", "next_event_at", "relays_settled").first()
    return (User.objects.filter(pk=user.pk).values_list(
        "rental_state", "rental_expiry", "is_active").get(), rental,
        AuditEvent.objects.count(), OutboundEmail.objects.count(), Operation.objects.count())


YESTERDAY = (timezone.now() - timedelta(days=1)).date().isoformat()


@pytest.mark.parametrize(("fields", "code", "field"), [
    ({"until": YESTERDAY}, "date_in_past", "until"),
    ({"until": timezone.now() - timedelta(minutes=1)}, "date_in_past", "until"),
    ({"until": "tomorrow"}, "invalid_date", "until"),
    ({"until": "2027-02-30"}, "invalid_date", "until"),
    ({"until": "9999-01-01"}, "date_too_far", "until"),
    ({"days": 0}, "invalid_days", "days"),
    ({"days": -5}, "invalid_days", "days"),
    ({"days": "x"}, "invalid_days", "days"),
    ({"days": "1.5"}, "invalid_days", "days"),
    ({"days": True}, "invalid_days", "days"),
    ({"days": 30, "until": "2031-01-01"}, "invalid_renewal", "until"),
    ({}, "invalid_renewal", "until"),
    ({"days": "", "until": ""}, "invalid_renewal", "until"),
])
def test_a_bad_renewal_is_refused_with_a_message_and_changes_nothing(renting, superadmin, fields,
                                                                    code, field):
    before = snapshot(renting)
    with pytest.raises(ServiceError) as refused:
        services.renew(user=renting, actor=superadmin, **fields)
    assert (refused.value.code, refused.value.status) == (code, 400)
    assert refused.value.fields[field] and str(refused.value.message)
    assert snapshot(renting) == before


@pytest.mark.parametrize("fields", [{"days": 30}, {"until": "2031-01-01"}])
def test_a_deleted_account_is_not_renewed(renting, superadmin, fields):
    services.delete_user(actor=superadmin, user=renting)
    gone = User.objects.get(pk=renting.pk)
    before = snapshot(gone)
    with pytest.raises(ServiceError) as refused:
        services.renew(user=gone, actor=superadmin, **fields)
    assert (refused.value.code, refused.value.status) == ("account_deleted", 409)
    assert snapshot(gone) == before


def test_a_good_renewal_to_a_date_runs_through_that_day(renting, superadmin):
    day = (timezone.now() + timedelta(days=100)).date()
    services.renew(user=renting, actor=superadmin, until=day.isoformat(), ip="192.0.2.9")
    renting.refresh_from_db()
    assert timezone.localtime(renting.rental_expiry - timedelta(microseconds=1)).date() == day
    event = AuditEvent.objects.get(action="rentals.renewed")
    assert event.actor == superadmin and event.details["via"] == "operator"
