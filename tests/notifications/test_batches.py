"""The outbox drains in batches: a run claims EMAIL_BATCH_SIZE due rows at a time, sends each
batch over one SMTP connection, and goes on while mail is due; rows waiting in a claimed batch
keep their lease, and overlapping runs never send a row twice."""

import threading
from collections import Counter

import pytest
from django.db import connection

from apps.notifications import services
from apps.notifications.models import EmailStatus, OutboundEmail
from tests.fleet.infra import wait_for

from .support import BackgroundDispatch, BlockingTransport, queue_mail


def queue_to_distinct_addresses(count: int) -> None:
    for n in range(count):
        queue_mail(f"person{n}@example.com", f"mail {n}")


def connections_used(mailbox) -> Counter:
    """Mails delivered per SMTP connection (the client's address and port name one)."""
    return Counter(mail.peer for mail in mailbox.delivered)


@pytest.mark.django_db
def test_a_batch_of_mail_goes_over_one_smtp_connection(settings, mailbox):
    settings.EMAIL_BATCH_SIZE = 12
    queue_to_distinct_addresses(12)

    report = services.dispatch_outbox()

    assert report.sent == 12
    assert list(connections_used(mailbox).values()) == [12]


@pytest.mark.django_db
def test_one_run_drains_batch_after_batch_while_mail_is_due(settings, mailbox):
    settings.EMAIL_BATCH_SIZE = 10
    queue_to_distinct_addresses(25)

    report = services.dispatch_outbox()

    assert (report.sent, report.stopped_early) == (25, False)
    assert sorted(connections_used(mailbox).values()) == [5, 10, 10]
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {EmailStatus.SENT}


@pytest.mark.django_db
def test_a_refused_recipient_does_not_cost_the_batch_its_connection(clock, mailbox):
    mailbox.refuse["ghost@example.com"] = "550 5.1.1 <ghost@example.com>: no such user"
    for to in ["alice@example.com", "ghost@example.com", "bob@example.com"]:
        queue_mail(to)

    report = services.dispatch_outbox()

    assert (report.sent, report.failed) == (2, 1)
    assert list(connections_used(mailbox).values()) == [2]


@pytest.mark.django_db(transaction=True)
def test_rows_waiting_behind_a_slow_send_keep_their_lease(settings):
    settings.EMAIL_SEND_LEASE_SECONDS = 3  # renewed every second
    queue_mail("alice@example.com", "first")
    waiting = queue_mail("bob@example.com", "second")
    slow = BlockingTransport()
    dispatch = BackgroundDispatch(slow)
    try:
        assert slow.sending.wait(timeout=10), "the send never began"
        granted = OutboundEmail.objects.get(pk=waiting.pk).lease_until
        wait_for(lambda: OutboundEmail.objects.get(pk=waiting.pk).lease_until > granted,
                 timeout=10, what="the waiting row's lease to be renewed")
        assert services.release_stale_leases(granted) == 0
    finally:
        slow.finish.set()
    report = dispatch.join()

    assert report.sent == 2
    assert [m["subject"] for m in slow.sent] == ["first", "second"]


def race(workers: int) -> list[BaseException]:
    start, errors = threading.Barrier(workers), []

    def dispatcher():
        try:
            start.wait(timeout=30)
            services.dispatch_outbox()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a dispatcher hung"
    return errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_overlapping_runs_on_postgresql_share_the_batches_and_send_each_row_once(settings, mailbox):
    settings.EMAIL_BATCH_SIZE = 7
    queue_to_distinct_addresses(60)
    for n in range(8):  # and one address with more than its window allows
        queue_mail("busy@example.com", f"busy {n}")

    assert race(workers=4) == []

    received = Counter(mail.subject for mail in mailbox.delivered)
    assert len(received) == 65 and set(received.values()) == {1}
    assert len(mailbox.to("busy@example.com")) == 5
    assert Counter(OutboundEmail.objects.values_list("status", flat=True)) == {
        EmailStatus.SENT: 65, EmailStatus.DEFERRED: 3}
