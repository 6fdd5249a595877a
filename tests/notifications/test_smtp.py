"""The outbox against a real SMTP server: mail arrives, an outage loses nothing, a refused address
fails with its reason."""

import re
import socket
from collections import Counter
from datetime import timedelta

import pytest
from aiosmtpd.smtp import AuthResult

from apps.accounts.models import User
from apps.notifications import services
from apps.notifications.models import EmailStatus, OutboundEmail
from tests import parts
from tests.factories import PASSWORD

from .support import T0, SmtpServer, point_django_at, queue_mail

pytestmark = pytest.mark.django_db


def test_registration_mails_a_working_verification_link(mailbox, anon_api, anon_client):
    response = anon_api.post("/api/user/register", {"email": "newbie@example.com",
                                                     "username": "newbie", "password": PASSWORD},
                             format="json")
    assert response.status_code == 202
    assert mailbox.delivered == []  # the request only queued it

    services.dispatch_outbox()

    [received] = mailbox.to("newbie@example.com")
    assert received.subject == "Verify your e-mail address"
    link = re.search(r"http://testserver(/accounts/verify/[^/\s]+/)", received.text)
    assert link, received.text
    assert link.group(0) in received.html
    assert anon_client.get(link.group(1)).status_code == 302
    assert User.objects.get(email="newbie@example.com").email_verified


def test_one_dispatch_run_uses_one_smtp_connection(mailbox):
    for to in ["alice@example.com", "bob@example.com", "carol@example.com"]:
        queue_mail(to)

    services.dispatch_outbox()

    assert len(mailbox.delivered) == 3
    assert len({mail.peer for mail in mailbox.delivered}) == 1


def test_while_smtp_is_down_mail_is_deferred_and_nothing_is_lost(clock, smtp_server):
    smtp_server.stop()
    emails = [queue_mail(to, f"mail {n}") for n, to in
              enumerate(["alice@example.com", "alice@example.com", "bob@example.com"])]

    report = services.dispatch_outbox()
    clock.move_to(T0 + timedelta(minutes=1))
    services.dispatch_outbox()

    # The first refused connection ends each run; the rest wait untouched for the next one.
    assert report.deferred == 1 and report.stopped_early
    for email in emails:
        email.refresh_from_db()
    assert [e.attempts for e in emails] == [1, 1, 0]
    assert [e.status for e in emails] == [EmailStatus.DEFERRED, EmailStatus.DEFERRED,
                                          EmailStatus.QUEUED]
    assert emails[0].last_error.startswith("SMTP unavailable: ConnectionRefusedError")

    smtp_server.start()
    clock.move_to(T0 + timedelta(minutes=3))
    report = services.dispatch_outbox()

    assert report.sent == 3
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {EmailStatus.SENT}
    received = Counter(mail.subject for mail in smtp_server.mailbox.delivered)
    assert received == Counter({"mail 0": 1, "mail 1": 1, "mail 2": 1})


def test_a_recipient_refused_with_550_fails_with_the_reason_and_others_still_go(clock, mailbox):
    mailbox.refuse["ghost@example.com"] = "550 5.1.1 <ghost@example.com>: no such user"
    ghost = queue_mail("ghost@example.com", "to nobody")
    bob = queue_mail("bob@example.com", "to bob")

    report = services.dispatch_outbox()
    clock.shift(timedelta(days=1))
    services.dispatch_outbox()

    ghost.refresh_from_db()
    bob.refresh_from_db()
    assert (report.sent, report.failed) == (1, 1)
    assert (ghost.status, ghost.attempts) == (EmailStatus.FAILED, 1)
    assert "550" in ghost.last_error and "no such user" in ghost.last_error
    assert bob.status == EmailStatus.SENT
    assert [mail.to for mail in mailbox.delivered] == ["bob@example.com"]


def test_a_recipient_refused_with_451_is_retried_until_accepted(clock, mailbox):
    mailbox.refuse["busy@example.com"] = "451 4.3.0 try again later"
    email = queue_mail("busy@example.com")

    services.dispatch_outbox()
    email.refresh_from_db()
    assert email.status == EmailStatus.DEFERRED
    assert "451" in email.last_error

    del mailbox.refuse["busy@example.com"]
    clock.move_to(email.next_attempt_at)
    services.dispatch_outbox()

    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert len(mailbox.to("busy@example.com")) == 1


def test_an_address_smtp_cannot_carry_fails_without_contacting_the_server(clock, mailbox):
    email = queue_mail("bad@@example.com")

    services.dispatch_outbox()

    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED
    assert "Invalid address" in email.last_error
    assert mailbox.delivered == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_rejected_smtp_credentials_defer_the_mail_rather_than_fail_it(clock, settings):
    def deny_all(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=False, handled=False)

    server = SmtpServer(parts.free_port(), auth_required=True, auth_require_tls=False,
                        authenticator=deny_all)
    server.start()
    try:
        point_django_at(settings, server)
        settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "panel", "wrong password"
        email = queue_mail("alice@example.com")

        services.dispatch_outbox()
    finally:
        server.stop()

    email.refresh_from_db()
    assert email.status == EmailStatus.DEFERRED
    assert email.last_error.startswith("SMTP authentication failed: 535")
    assert server.mailbox.delivered == []


def test_a_server_that_does_not_answer_in_time_defers_the_mail(clock, settings):
    with socket.socket() as silent:  # accepts connections (backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = silent.getsockname()
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 1
        email = queue_mail("alice@example.com")

        services.dispatch_outbox()

    email.refresh_from_db()
    assert email.status == EmailStatus.DEFERRED
    assert email.last_error.startswith("SMTP unavailable") and "timed out" in email.last_error
    assert email.next_attempt_at == T0 + timedelta(minutes=1)
