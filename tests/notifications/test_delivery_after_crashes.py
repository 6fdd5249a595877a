"""Mail in flight when its worker or the SMTP server dies is sent again, and every copy that
arrives carries the row's one Message-ID, so the receiving side can drop all but one.

Real parts: a real Celery worker process killed with SIGKILL, a real SMTP server (aiosmtpd)
that has taken the message but not yet answered its DATA when the sender disappears."""

from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import EmailStatus, OutboundEmail
from tests.fleet.infra import wait_for

from .support import BackgroundDispatch, queue_mail
from .worker_process import dispatch, start_worker

SHORT_LEASE = {"EMAIL_SEND_LEASE_SECONDS": "3"}  # renewed every second; runs out 3 s after a death


def row(email: OutboundEmail) -> OutboundEmail:
    return OutboundEmail.objects.get(pk=email.pk)


def test_mail_whose_worker_is_killed_mid_data_is_sent_again_with_the_same_message_id(
        transactional_db, smtp_server, broker, tmp_path):
    email = queue_mail("alice@example.com", "in flight")
    mailbox = smtp_server.mailbox
    mailbox.hold_next_reply()

    first = start_worker(broker, smtp_server, tmp_path / "first-worker.log", **SHORT_LEASE)
    try:
        dispatch(broker)
        first.wait_for(mailbox.holding.is_set, what="the message in the server's hands")
        granted = row(email).lease_until
        # A real worker renews its lease while the SMTP server keeps it waiting.
        first.wait_for(lambda: row(email).lease_until > granted, what="a renewed lease")
    finally:
        first.kill_group()
    assert row(email).status == EmailStatus.SENDING  # nobody got to record anything

    wait_for(lambda: row(email).lease_until < timezone.now(), timeout=15,
             what="the killed worker's lease to run out")
    second = start_worker(broker, smtp_server, tmp_path / "second-worker.log", **SHORT_LEASE)
    try:
        dispatch(broker)
        second.wait_for(lambda: row(email).status == EmailStatus.SENT, what="the row sent")
    finally:
        second.stop()

    email.refresh_from_db()
    copies = mailbox.to("alice@example.com")
    assert len(copies) == 2  # the one the server kept when the worker died, and the re-send
    assert [copy.message_id for copy in copies] == [email.message_id] * 2
    assert [copy.subject for copy in copies] == ["in flight"] * 2
    assert (email.status, email.attempts, email.lease_until) == (EmailStatus.SENT, 2, None)


def test_mail_whose_smtp_server_goes_away_mid_data_is_retried_with_the_same_message_id(
        transactional_db, clock, smtp_server):
    email = queue_mail("alice@example.com", "in flight")
    mailbox = smtp_server.mailbox
    mailbox.hold_next_reply()

    dispatch = BackgroundDispatch()
    wait_for(mailbox.holding.is_set, timeout=10, what="the message in the server's hands")
    smtp_server.stop()
    report = dispatch.join()

    email.refresh_from_db()
    assert report.deferred == 1
    assert email.status == EmailStatus.DEFERRED
    assert email.last_error.startswith("SMTP unavailable")

    smtp_server.start()
    clock.move_to(email.next_attempt_at)
    assert services.dispatch_outbox().sent == 1

    email.refresh_from_db()
    copies = mailbox.to("alice@example.com")
    assert len(copies) == 2
    assert [copy.message_id for copy in copies] == [email.message_id] * 2
    assert (email.status, email.attempts) == (EmailStatus.SENT, 2)
