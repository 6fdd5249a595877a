"""Several dispatchers at once (Celery workers, the beat run and an on-commit run overlapping)
never send one row twice, and the per-address limit holds across them."""

import threading
from collections import Counter

import pytest
from django.db import connection

from apps.notifications import services
from apps.notifications.models import EmailStatus, OutboundEmail

from .support import queue_mail


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
