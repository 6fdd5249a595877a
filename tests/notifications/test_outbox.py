"""Every e-mail is an outbox row, rendered from templates in the recipient's language, and only the
dispatcher sends it."""

import logging

import pytest
from django.core import mail
from django.db import transaction

from apps.notifications import services, tasks
from apps.notifications.models import EmailStatus, OutboundEmail
from derpmgr.errors import ServiceError
from tests.factories import UserFactory

from .support import queue_mail

pytestmark = pytest.mark.django_db


def test_queueing_mail_only_adds_a_row(customer):
    email = services.send_to_user(user=customer, template="verify-email",
                                  context={"link": "http://testserver/accounts/verify/x/", "hours": 48})

    email.refresh_from_db()
    assert email.status == EmailStatus.QUEUED
    assert email.to == customer.email
    assert email.template == "verify-email"
    assert mail.outbox == []  # the configured backend was not touched


def test_the_dispatcher_sends_a_queued_row_and_marks_it_sent(customer, transport):
    email = services.send_to_user(user=customer, template="verify-email",
                                  context={"link": "http://testserver/accounts/verify/x/", "hours": 48})

    report = services.dispatch_outbox(transport=transport)

    email.refresh_from_db()
    assert (report.sent, email.status, email.attempts) == (1, EmailStatus.SENT, 1)
    assert email.sent_at is not None
    assert transport.sent == [{"to": customer.email, "subject": email.subject,
                               "body_text": email.body_text, "body_html": email.body_html,
                               "message_id": email.message_id}]
    assert transport.closed == 1


def test_a_sent_row_is_not_sent_again(customer, transport):
    queue_mail(customer.email)
    services.dispatch_outbox(transport=transport)

    report = services.dispatch_outbox(transport=transport)

    assert report.sent == 0
    assert len(transport.sent) == 1


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_mail_is_rendered_in_the_recipients_language(language):
    user = UserFactory(language=language)

    email = services.send_to_user(user=user, template="verify-email",
                                  context={"link": "http://testserver/accounts/verify/x/", "hours": 48})

    assert f'<html lang="{language}">' in email.body_html


def test_english_recipients_get_the_english_templates():
    user = UserFactory(language="en", username="bob")

    email = services.send_to_user(user=user, template="verify-email",
                                  context={"link": "http://testserver/accounts/verify/x/", "hours": 48})

    assert email.subject == "Verify your e-mail address"
    assert email.body_text.startswith("Hello bob,\n")
    assert "http://testserver/accounts/verify/x/" in email.body_text
    assert '<a href="http://testserver/accounts/verify/x/">' in email.body_html


def test_subject_and_text_body_are_plain_text_and_only_the_html_body_is_escaped(admin_user, customer):
    email = services.compose_to_user(actor=admin_user, user=customer, subject="Tom & Jerry <3",
                                     message='if a < b & "c"')

    assert email.subject == "Tom & Jerry <3"
    assert 'if a < b & "c"' in email.body_text
    assert "if a &lt; b &amp; &quot;c&quot;" in email.body_html


def test_a_subject_never_spans_lines(admin_user, customer):
    email = services.compose_to_user(actor=admin_user, user=customer, subject="one\ntwo",
                                     message="body")

    assert email.subject == "one two"


def test_something_that_is_not_an_address_is_refused():
    with pytest.raises(ServiceError) as refused:
        services.send_email(to="nobody", template="test", context={"sender": {"email": "a@b.c"}})

    assert refused.value.code == "invalid_address"
    assert not OutboundEmail.objects.exists()


def test_the_dispatcher_is_asked_to_run_once_the_transaction_commits(
        customer, kicks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        queue_mail(customer.email)
        assert kicks == []

    assert len(kicks) == 1


def test_mail_of_a_rolled_back_transaction_is_neither_kept_nor_announced(
        customer, kicks, django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError),
          transaction.atomic()):
        queue_mail(customer.email)
        raise RuntimeError("the action failed after queueing its mail")

    assert not OutboundEmail.objects.exists()
    assert kicks == []


def test_an_unreachable_broker_loses_no_mail(customer, monkeypatch, caplog,
                                             django_capture_on_commit_callbacks):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.dispatch_outbox_now, "delay", broker_down)

    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        email = queue_mail(customer.email)

    email.refresh_from_db()
    assert email.status == EmailStatus.QUEUED  # the minutely run will send it
    assert "could not enqueue dispatch_outbox" in caplog.text
