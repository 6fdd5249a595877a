"""The outbox in the admin: a super admin can send a test e-mail and sees why mail failed."""

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.notifications import services
from apps.notifications.models import EmailStatus, OutboundEmail
from apps.notifications.transport import MailError
from tests.conftest import signed_in_client

from .support import queue_mail

TEST_EMAIL_URL = reverse("admin:notifications_outboundemail_test")
CHANGELIST_URL = reverse("admin:notifications_outboundemail_changelist")

pytestmark = pytest.mark.django_db


def test_a_super_admin_queues_a_test_email(superadmin):
    response = signed_in_client(superadmin).post(TEST_EMAIL_URL, {"to": "ops@example.com"})

    assert response.status_code == 302
    assert response.url == CHANGELIST_URL
    email = OutboundEmail.objects.get()
    assert (email.to, email.template, email.status) == ("ops@example.com", "test", EmailStatus.QUEUED)
    assert superadmin.email in email.body_text
    assert AuditEvent.objects.filter(action="notifications.test_sent", actor=superadmin).exists()


def test_the_test_email_form_offers_the_super_admins_own_address(superadmin):
    response = signed_in_client(superadmin).get(TEST_EMAIL_URL)

    assert response.status_code == 200
    assert f'value="{superadmin.email}"' in response.content.decode()


def test_a_test_email_to_a_malformed_address_is_not_queued(superadmin):
    response = signed_in_client(superadmin).post(TEST_EMAIL_URL, {"to": "not an address"})

    assert response.status_code == 400
    assert response.context["form"].errors["to"]
    assert not OutboundEmail.objects.exists()


def test_an_admin_is_sent_away_and_nothing_is_queued(admin_user):
    response = signed_in_client(admin_user).post(TEST_EMAIL_URL, {"to": "ops@example.com"})

    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert not OutboundEmail.objects.exists()


def test_a_staff_session_without_otp_cannot_queue_a_test_email(superadmin):
    client = signed_in_client(superadmin, verified=False)

    response = client.post(TEST_EMAIL_URL, {"to": "ops@example.com"})

    assert response.status_code == 302  # off to the OTP step
    assert not OutboundEmail.objects.exists()


@pytest.mark.parametrize("persona", ["customer", "distributor"])
def test_non_staff_neither_see_the_outbox_nor_send_from_it(request, persona):
    client = signed_in_client(request.getfixturevalue(persona))
    queue_mail("secret@example.com")

    listing = client.get(CHANGELIST_URL)
    sending = client.post(TEST_EMAIL_URL, {"to": "ops@example.com"})

    assert listing.status_code != 200
    assert "secret@example.com" not in listing.content.decode()
    assert sending.status_code != 200
    assert OutboundEmail.objects.count() == 1


def test_the_outbox_shows_a_super_admin_why_a_mail_failed(superadmin, transport):
    queue_mail("ghost@example.com")
    transport.fail_with = MailError("recipient refused: ghost@example.com: 550 'no such user'",
                                    transient=False)
    services.dispatch_outbox(transport=transport)

    response = signed_in_client(superadmin).get(CHANGELIST_URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "ghost@example.com" in page
    assert "550 &#x27;no such user&#x27;" in page
    assert TEST_EMAIL_URL in page  # the "Send a test e-mail" button


def test_the_outbox_can_be_filtered_to_failed_mail(superadmin, transport):
    queue_mail("ghost@example.com")
    transport.fail_with = MailError("recipient refused: 550", transient=False)
    services.dispatch_outbox(transport=transport)
    transport.fail_with = None
    queue_mail("bob@example.com")
    services.dispatch_outbox(transport=transport)

    response = signed_in_client(superadmin).get(CHANGELIST_URL, {"status__exact": "failed"})

    assert response.status_code == 200
    assert [row.to for row in response.context["cl"].result_list] == ["ghost@example.com"]
