"""The dispatcher claims rows under a lease, retries transient failures with growing waits and
gives up at once on permanent ones (a fake transport stands in for SMTP here)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import EmailStatus, OutboundEmail
from apps.notifications.transport import MailError

from .support import T0, queue_mail

pytestmark = pytest.mark.django_db

LEASE = timedelta(minutes=5)  # EMAIL_SEND_LEASE_SECONDS' default


class WorkerKilled(BaseException):
    """The process dies mid-send: nothing in the dispatcher gets to handle it."""


def test_a_row_held_by_a_crashed_worker_is_not_touched_while_its_lease_runs(clock, transport):
    email = queue_mail("alice@example.com")
    transport.fail_with = WorkerKilled()
    with pytest.raises(WorkerKilled):
        services.dispatch_outbox(transport=transport)
    transport.fail_with = None

    clock.move_to(T0 + LEASE - timedelta(seconds=1))
    report = services.dispatch_outbox(transport=transport)

    email.refresh_from_db()
    assert report.sent == 0 and transport.sent == []
    assert email.status == EmailStatus.SENDING
    assert email.lease_until == T0 + LEASE


def test_a_row_held_by_a_crashed_worker_is_sent_once_its_lease_has_run_out(clock, transport):
    email = queue_mail("alice@example.com")
    transport.fail_with = WorkerKilled()
    with pytest.raises(WorkerKilled):
        services.dispatch_outbox(transport=transport)
    transport.fail_with = None

    clock.move_to(T0 + LEASE + timedelta(seconds=1))
    report = services.dispatch_outbox(transport=transport)

    email.refresh_from_db()
    assert report.sent == 1
    assert [m["to"] for m in transport.sent] == ["alice@example.com"]
    assert (email.status, email.attempts, email.lease_until) == (EmailStatus.SENT, 2, None)


def test_the_lease_starts_when_the_row_is_claimed_not_when_the_batch_started(clock, transport):
    """A batch slowed down by SMTP must not hand out leases that have already expired."""
    first, second = queue_mail("alice@example.com"), queue_mail("bob@example.com")
    leases = {}

    class SlowTransport:
        def send(self, *, to, **message):
            leases[to] = OutboundEmail.objects.get(to=to).lease_until
            clock.shift(timedelta(minutes=6))  # longer than a whole lease

        def close(self):
            pass

    services.dispatch_outbox(transport=SlowTransport())

    assert leases == {first.to: T0 + LEASE,
                      second.to: T0 + timedelta(minutes=6) + LEASE}


def test_each_transient_failure_doubles_the_wait_up_to_one_hour(clock, transport):
    email = queue_mail("alice@example.com")
    transport.fail_with = MailError("SMTP unavailable: ConnectionRefusedError", transient=True)

    waits = []
    for _attempt in range(9):
        services.dispatch_outbox(transport=transport)
        email.refresh_from_db()
        waits.append(email.next_attempt_at - timezone.now())
        clock.move_to(email.next_attempt_at)

    assert [wait / timedelta(minutes=1) for wait in waits] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert (email.status, email.attempts) == (EmailStatus.DEFERRED, 9)
    assert email.last_error == "SMTP unavailable: ConnectionRefusedError"


def test_a_very_long_outage_still_waits_one_hour_between_attempts(clock, transport):
    email = queue_mail("alice@example.com")
    OutboundEmail.objects.filter(pk=email.pk).update(attempts=500)
    transport.fail_with = MailError("SMTP unavailable", transient=True)

    services.dispatch_outbox(transport=transport)

    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.DEFERRED, 501)
    assert email.next_attempt_at == T0 + timedelta(hours=1)


def test_a_deferred_row_is_sent_when_its_time_comes(clock, transport):
    email = queue_mail("alice@example.com")
    transport.fail_with = MailError("SMTP unavailable", transient=True)
    services.dispatch_outbox(transport=transport)
    transport.fail_with = None

    services.dispatch_outbox(transport=transport)
    assert transport.sent == []  # not due yet
    clock.move_to(T0 + timedelta(minutes=1))
    services.dispatch_outbox(transport=transport)

    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == (EmailStatus.SENT, 2, "")
    assert len(transport.sent) == 1


def test_a_permanent_failure_is_marked_failed_with_its_reason_and_never_retried(clock, transport):
    email = queue_mail("ghost@example.com")
    transport.fail_with = MailError("recipient refused: ghost@example.com: 550 'no such user'",
                                    transient=False)

    report = services.dispatch_outbox(transport=transport)
    clock.shift(timedelta(days=1))
    transport.fail_with = None
    services.dispatch_outbox(transport=transport)

    email.refresh_from_db()
    assert report.failed == 1
    assert (email.status, email.attempts) == (EmailStatus.FAILED, 1)
    assert email.last_error == "recipient refused: ghost@example.com: 550 'no such user'"
    assert transport.sent == []


def test_one_failing_row_does_not_hold_up_the_others(clock, transport):
    queue_mail("ghost@example.com")
    queue_mail("bob@example.com")

    class RefusesGhost:
        def __init__(self):
            self.sent = []

        def send(self, *, to, **message):
            if to.startswith("ghost"):
                raise MailError("recipient refused", transient=False)
            self.sent.append(to)

        def close(self):
            pass

    refuses_ghost = RefusesGhost()
    report = services.dispatch_outbox(transport=refuses_ghost)

    assert (report.sent, report.failed) == (1, 1)
    assert refuses_ghost.sent == ["bob@example.com"]


def test_a_server_that_is_down_ends_the_run_and_leaves_the_rest_queued(clock, transport):
    first = queue_mail("alice@example.com")
    second = queue_mail("bob@example.com")
    transport.fail_with = MailError("SMTP unavailable: timeout", transient=True,
                                    server_unavailable=True)

    report = services.dispatch_outbox(transport=transport)

    first.refresh_from_db()
    second.refresh_from_db()
    assert report.stopped_early and report.deferred == 1
    assert first.status == EmailStatus.DEFERRED
    assert second.status == EmailStatus.QUEUED and second.attempts == 0


def test_a_refused_recipient_does_not_end_the_run(clock, transport):
    queue_mail("alice@example.com")
    second = queue_mail("bob@example.com")
    transport.fail_with = MailError("recipient refused: 451", transient=True)

    report = services.dispatch_outbox(transport=transport)

    second.refresh_from_db()
    assert not report.stopped_early and report.deferred == 2
    assert second.attempts == 1
