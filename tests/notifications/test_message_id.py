"""Every outbox row has a Message-ID of its own, made with the row, and every attempt to send
the row carries it: a receiving server can then drop a copy that went out twice."""

import re
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils.html import escape

from apps.notifications import services
from apps.notifications.models import EmailStatus, OutboundEmail
from apps.notifications.transport import MailError
from tests.conftest import signed_in_client

from .support import queue_mail

pytestmark = pytest.mark.django_db

A_MESSAGE_ID = r"<[^<>@\s]+@{domain}>"


def test_each_row_gets_its_own_message_id_under_the_senders_domain(settings):
    settings.DEFAULT_FROM_EMAIL = "Relays <noreply@relays.example.net>"

    first, second = queue_mail("alice@example.com"), queue_mail("alice@example.com")

    assert first.message_id != second.message_id
    for email in (first, second):
        assert re.fullmatch(A_MESSAGE_ID.format(domain=r"relays\.example\.net"), email.message_id)
        assert OutboundEmail.objects.get(pk=email.pk).message_id == email.message_id


def test_a_sender_without_a_domain_leaves_it_to_the_panels_host(settings):
    settings.DEFAULT_FROM_EMAIL = "noreply"
    settings.PANEL_URL = "https://panel.example.org:8443"

    email = queue_mail("alice@example.com")

    assert re.fullmatch(A_MESSAGE_ID.format(domain=r"panel\.example\.org"), email.message_id)


def test_a_retry_after_a_transient_failure_carries_the_same_message_id(clock, transport):
    email = queue_mail("alice@example.com")
    transport.fail_with = MailError("SMTP unavailable: SMTPServerDisconnected", transient=True,
                                    server_unavailable=True)
    services.dispatch_outbox(transport=transport)
    transport.fail_with = None
    email.refresh_from_db()
    clock.move_to(email.next_attempt_at)

    services.dispatch_outbox(transport=transport)

    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 2)
    assert [attempt["message_id"] for attempt in transport.attempts] == [email.message_id] * 2
    assert len(transport.sent) == 1


def test_the_configured_backend_gets_the_rows_message_id_on_every_attempt(clock, monkeypatch):
    """Through the real transport: Django would otherwise make a new Message-ID per send."""
    email = queue_mail("alice@example.com")
    given = []
    send_messages = locmem.EmailBackend.send_messages

    def disconnect_once(backend, messages):
        given.extend(message.message()["Message-ID"] for message in messages)
        if len(given) == 1:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return send_messages(backend, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", disconnect_once)
    services.dispatch_outbox()
    email.refresh_from_db()
    clock.move_to(email.next_attempt_at)
    services.dispatch_outbox()

    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert given == [email.message_id] * 2
    [delivered] = mail.outbox
    assert delivered.message()["Message-ID"] == email.message_id


def test_the_admin_shows_the_message_id_and_finds_the_row_by_it(superadmin):
    email = queue_mail("alice@example.com")
    client = signed_in_client(superadmin)

    page = client.get(reverse("admin:notifications_outboundemail_change", args=[email.pk]))
    found = client.get(reverse("admin:notifications_outboundemail_changelist"),
                       {"q": email.message_id})

    assert page.status_code == 200
    assert escape(email.message_id) in page.content.decode()
    assert 'name="message_id"' not in page.content.decode()  # shown, not editable
    assert "claim_token" not in page.content.decode()  # the workers' business only
    assert [row.pk for row in found.context["cl"].result_list] == [email.pk]


def test_the_migration_gives_every_existing_row_a_message_id_of_its_own(transactional_db):
    before, after = [("notifications", "0001_initial")], [
        ("notifications", "0002_message_id_and_claim_token")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        recipient = old.get_model("notifications", "Recipient").objects.create(
            address="alice@example.com")
        for n in range(3):
            old.get_model("notifications", "OutboundEmail").objects.create(
                recipient=recipient, to="alice@example.com", subject=f"old {n}", body_text="x")
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)

    message_ids = list(OutboundEmail.objects.values_list("message_id", flat=True))
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # the later tests want the latest schema
    assert len(set(message_ids)) == 3
    assert all(re.fullmatch(A_MESSAGE_ID.format(domain=r"[\w.-]+"), m) for m in message_ids)
