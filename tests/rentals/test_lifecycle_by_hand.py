"""An operator suspends a rental with a reason (abuse, non-payment): relays stopped with their
ports kept, admission refused at once, the derpMap download refused with the reason; resuming
brings it all back. A renewal while it is held keeps it held."""

import pytest
from django.test import Client

from apps.accounts.models import RentalState
from apps.acl import services as acl
from apps.audit.models import AuditEvent
from apps.containers.models import InstanceStatus
from apps.rentals import services
from derpmgr.errors import ServiceError
from tests.acl.conftest import ask, node_key
from tests.rentals.conftest import mails, relays, rental

REASON = "payment reversed by the bank"


@pytest.fixture
def admitted(renting, django_capture_on_commit_callbacks):
    """The renter's laptop, admitted once by their first relay (so the answer is cached)."""
    with django_capture_on_commit_callbacks(execute=True):
        acl.add_device(user=renting, name="laptop", node_key=node_key(1))
    assert ask(Client(), relays(renting)[0], node_key(1)) is True
    return renting


def test_a_suspension_by_hand_refuses_at_once_and_resuming_brings_it_back(
        admitted, admin_user, run_operations, django_capture_on_commit_callbacks):
    first = relays(admitted)[0]
    with django_capture_on_commit_callbacks(execute=True):
        services.suspend(user=admitted, actor=admin_user, reason=f"  {REASON} ")

    assert first.__class__.objects.get(pk=first.pk).status == InstanceStatus.RUNNING  # not yet
    assert ask(Client(), first, node_key(1)) is False  # refused before the relays even stop
    with pytest.raises(acl.DownloadRefused) as refused:
        acl.check_download(admitted)
    assert refused.value.code == "rental_suspended" and REASON in str(refused.value.message)
    assert admitted.rental_state == RentalState.SUSPENDED
    held = rental(admitted)
    assert (held.suspended_by_hand, held.suspension_reason) == (True, REASON)
    assert AuditEvent.objects.filter(action="rentals.suspended", actor=admin_user,
                                     details__reason=REASON).exists()
    assert mails(admitted)[-1] == "rental-suspended"

    run_operations()
    ports = [(r.pk, r.port) for r in relays(admitted)]
    assert {r.status for r in relays(admitted)} == {InstanceStatus.STOPPED}

    with django_capture_on_commit_callbacks(execute=True):
        services.resume(user=admitted, actor=admin_user)
        run_operations()

    assert admitted.rental_state == RentalState.ACTIVE
    assert [(r.pk, r.port) for r in relays(admitted, InstanceStatus.RUNNING)] == ports
    assert ask(Client(), first, node_key(1)) is True
    assert not rental(admitted).suspended_by_hand and rental(admitted).suspension_reason == ""
    assert mails(admitted)[-1] == "rental-resumed"


def test_renewing_a_rental_held_by_the_operators_keeps_it_held(renting, admin_user, superadmin,
                                                               run_operations):
    services.suspend(user=renting, actor=admin_user, reason=REASON)
    run_operations()
    end = renting.rental_expiry

    services.extend(user=renting, days=30, actor=superadmin, via="test")
    run_operations()

    renting.refresh_from_db()
    assert renting.rental_expiry > end  # the time is added…
    assert renting.rental_state == RentalState.SUSPENDED  # …but the hold stays
    assert rental(renting).suspension_reason == REASON
    assert {r.status for r in relays(renting)} == {InstanceStatus.STOPPED}
    assert mails(renting)[-1] == "renewal-succeeded"


@pytest.mark.parametrize("reason", ["", "   ", None, 42])
def test_a_suspension_without_a_reason_is_refused_and_changes_nothing(renting, admin_user, reason):
    mail_before, events_before = mails(renting), AuditEvent.objects.count()
    with pytest.raises(ServiceError) as refused:
        services.suspend(user=renting, actor=admin_user, reason=reason)
    assert (refused.value.code, refused.value.status) == ("reason_required", 400)
    renting.refresh_from_db()
    assert renting.rental_state == RentalState.ACTIVE and not rental(renting).suspended_by_hand
    assert (mails(renting), AuditEvent.objects.count()) == (mail_before, events_before)


def test_resuming_a_rental_nobody_suspended_is_refused(renting, admin_user):
    with pytest.raises(ServiceError) as refused:
        services.resume(user=renting, actor=admin_user)
    assert (refused.value.code, refused.value.status) == ("not_suspended", 409)
