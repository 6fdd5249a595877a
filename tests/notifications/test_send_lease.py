"""A worker holds the row it sends under a lease: renewed while the send runs, so a slow SMTP
conversation keeps it; run out only when the worker is lost, and then the row goes out again at
once, with its earlier slot replaced rather than counted against it. Only the claim that holds
the row may renew or finish it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.notifications import lease, services
from apps.notifications.models import EmailStatus, OutboundEmail
from apps.notifications.transport import MailError
from tests.fleet.infra import wait_for

from .support import T0, BackgroundDispatch, BlockingTransport, queue_mail

LEASE = timedelta(minutes=5)  # EMAIL_SEND_LEASE_SECONDS' default


class WorkerKilled(BaseException):
    """The process dies mid-send: nothing in the dispatcher gets to handle it."""


def row(email: OutboundEmail) -> OutboundEmail:
    return OutboundEmail.objects.get(pk=email.pk)


@pytest.mark.django_db
def test_a_row_released_from_a_lost_worker_goes_out_at_once_though_its_own_slot_filled_the_window(
        clock, transport):
    for n in range(4):
        queue_mail("alice@example.com", f"earlier {n}")
    services.dispatch_outbox(transport=transport)
    email = queue_mail("alice@example.com", "in flight when the worker died")
    transport.fail_with = WorkerKilled()
    with pytest.raises(WorkerKilled):  # it took the window's 5th slot, then its worker died
        services.dispatch_outbox(transport=transport)
    transport.fail_with = None
    clock.move_to(T0 + LEASE + timedelta(seconds=1))

    released = services.release_stale_leases(timezone.now())
    report = services.dispatch_outbox(transport=transport)

    email.refresh_from_db()
    assert released == 1
    assert (report.sent, report.rate_limited) == (1, 0)
    assert (email.status, email.attempts) == (EmailStatus.SENT, 2)
    assert email.slot_at == T0 + LEASE + timedelta(seconds=1)  # its new slot replaced the old
    resent = [a["message_id"] for a in transport.attempts if a["subject"] == email.subject]
    assert resent == [email.message_id] * 2

    # The window holds five slots (four at T0, the re-sent row's new one), not six: a sixth
    # e-mail waits until the first four leave it.
    sixth = queue_mail("alice@example.com", "sixth")
    assert services.dispatch_outbox(transport=transport).rate_limited == 1
    sixth.refresh_from_db()
    assert sixth.next_attempt_at == T0 + timedelta(minutes=10)


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_renewed_while_a_slow_send_runs(settings):
    settings.EMAIL_SEND_LEASE_SECONDS = 3  # renewed every second
    email = queue_mail("alice@example.com")
    slow = BlockingTransport()
    dispatch = BackgroundDispatch(slow)
    try:
        assert slow.sending.wait(timeout=10), "the send never began"
        granted = row(email).lease_until
        renewed = wait_for(lambda: row(email).lease_until > granted and row(email).lease_until,
                           timeout=10, what="the lease to be renewed")
        # Past the lease as first granted, the row is not taken for lost.
        assert services.release_stale_leases(granted + (renewed - granted) / 2) == 0
        assert row(email).status == EmailStatus.SENDING
    finally:
        slow.finish.set()
    report = dispatch.join()

    email.refresh_from_db()
    assert report.sent == 1
    assert (email.status, email.attempts, email.lease_until, email.claim_token) == (
        EmailStatus.SENT, 1, None, None)
    assert len(slow.sent) == 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_row_was_taken_over_neither_renews_nor_finishes_it(clock):
    email = queue_mail("alice@example.com")
    first, second = BlockingTransport(), BlockingTransport()
    first_worker = BackgroundDispatch(first)
    assert first.sending.wait(timeout=10), "the first send never began"
    first_claim = row(email).claim_token
    # The first worker stalls past its lease (no renewal got through); a second takes the row.
    clock.move_to(T0 + LEASE + timedelta(seconds=1))
    second_worker = BackgroundDispatch(second)
    assert second.sending.wait(timeout=10), "the second send never began"
    taken_over = row(email)

    renewed_by_the_first = lease.renew(email.pk, first_claim)
    first.finish.set()
    first_report = first_worker.join()

    email.refresh_from_db()
    assert taken_over.claim_token not in (None, first_claim)
    assert not renewed_by_the_first
    assert (first_report.sent, first_report.lost_claims) == (0, 1)
    # The second worker's claim is untouched: still sending, its lease, its token.
    assert (email.status, email.claim_token, email.lease_until, email.sent_at) == (
        EmailStatus.SENDING, taken_over.claim_token, taken_over.lease_until, None)

    second.finish.set()
    second_report = second_worker.join()

    email.refresh_from_db()
    assert second_report.sent == 1
    assert (email.status, email.attempts) == (EmailStatus.SENT, 2)
    # Both went out, as SMTP allows no better; the recipient's server sees one Message-ID.
    assert [m["message_id"] for m in first.sent + second.sent] == [email.message_id] * 2


@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_row_was_taken_over_does_not_fail_it_either(clock, transport):
    """A permanent failure seen by the worker that lost the row must not end the new holder's
    attempt."""
    email = queue_mail("alice@example.com")
    first, second = BlockingTransport(), BlockingTransport()
    first.fail_with = MailError("recipient refused: 550", transient=False)
    first_worker = BackgroundDispatch(first)
    assert first.sending.wait(timeout=10)
    clock.move_to(T0 + LEASE + timedelta(seconds=1))
    second_worker = BackgroundDispatch(second)
    assert second.sending.wait(timeout=10)

    first.finish.set()
    first_report = first_worker.join()
    second.finish.set()
    second_worker.join()

    email.refresh_from_db()
    assert (first_report.failed, first_report.lost_claims) == (0, 1)
    assert (email.status, email.last_error) == (EmailStatus.SENT, "")
