"""Several dispatchers at once (Celery workers, the beat run and an on-commit run overlapping)
never send one row twice, and the per-address limit holds across them."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection

from apps.notifications import services
from apps.notifications.models import EmailStatus, OutboundEmail

from .support import T0, FakeTransport, queue_mail


def race_dispatchers(workers: int) -> list[BaseException]:
    """Run dispatch_outbox in `workers` threads released together; their errors, if any."""
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def dispatcher():
        try:
            start.wait(timeout=30)
            services.dispatch_outbox()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection to the test database

    threads = [threading.Thread(target=dispatcher) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a dispatcher hung"
    return errors


def assert_each_row_sent_once_and_five_per_address(mailbox, addresses, per_address):
    received = Counter(mail.subject for mail in mailbox.delivered)
    assert received and max(received.values()) == 1, "a row was sent twice"
    sent = set(OutboundEmail.objects.filter(status=EmailStatus.SENT).values_list("subject", flat=True))
    assert sent == set(received)
    for address in addresses:
        assert len(mailbox.to(address)) == 5
    statuses = Counter(OutboundEmail.objects.values_list("status", flat=True))
    assert statuses == {EmailStatus.SENT: 5 * len(addresses),
                        EmailStatus.DEFERRED: (per_address - 5) * len(addresses)}


def queue_for(addresses, per_address):
    for address in addresses:
        for n in range(per_address):
            queue_mail(address, f"{address} #{n}")


@pytest.mark.postgres
def test_concurrent_dispatchers_on_postgresql_send_each_row_once_within_the_limit(
        transactional_db, mailbox):
    addresses = [f"user{n}@example.com" for n in range(6)]
    queue_for(addresses, per_address=8)

    errors = race_dispatchers(workers=8)

    assert errors == []
    assert_each_row_sent_once_and_five_per_address(mailbox, addresses, per_address=8)


def test_concurrent_dispatchers_on_the_configured_database_send_each_row_once(
        transactional_db, mailbox):
    addresses = ["alice@example.com", "bob@example.com"]
    queue_for(addresses, per_address=7)

    errors = race_dispatchers(workers=4)

    assert errors == []
    assert_each_row_sent_once_and_five_per_address(mailbox, addresses, per_address=7)


class WorkerKilled(BaseException):
    """The process dies mid-send: nothing in the dispatcher gets to handle it."""


@pytest.mark.postgres
def test_concurrent_dispatchers_resend_a_lost_workers_rows_once_within_the_limit(
        transactional_db, clock, mailbox):
    addresses = [f"user{n}@example.com" for n in range(4)]
    queue_for(addresses, per_address=4)
    services.dispatch_outbox()  # four slots per address at T0
    killed = FakeTransport()
    killed.fail_with = WorkerKilled()
    lost = {}
    for address in addresses:  # each takes its address's 5th slot, then its worker dies
        lost[address] = queue_mail(address, f"{address} lost")
        with pytest.raises(WorkerKilled):
            services.dispatch_outbox(transport=killed)
    queue_for(addresses, per_address=2)  # these must wait for the window
    clock.move_to(T0 + timedelta(minutes=5, seconds=1))  # the lost leases have run out

    errors = race_dispatchers(workers=8)

    assert errors == []
    for address, email in lost.items():
        email.refresh_from_db()
        assert (email.status, email.attempts) == (EmailStatus.SENT, 2)
        assert [m.message_id for m in mailbox.to(address) if m.subject == email.subject] == [
            email.message_id]
        assert len(mailbox.to(address)) == 5
    waiting = OutboundEmail.objects.exclude(status=EmailStatus.SENT)
    assert waiting.count() == 2 * len(addresses)
    assert set(waiting.values_list("status", "next_attempt_at")) == {
        (EmailStatus.DEFERRED, T0 + timedelta(minutes=10))}
