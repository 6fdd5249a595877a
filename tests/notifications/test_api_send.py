"""POST /api/notifications/send: an admin or super admin writes to a user; nobody else learns
anything, and bad input is answered with the error envelope."""

import pytest

from apps.audit.models import AuditEvent
from apps.notifications.models import EmailStatus, OutboundEmail
from tests.conftest import token_client

URL = "/api/notifications/send"

pytestmark = pytest.mark.django_db


def send(client, **payload):
    return client.post(URL, {"subject": "Maintenance", "message": "Relay down at 02:00.", **payload},
                       format="json")


@pytest.mark.parametrize("sender", ["admin_user", "superadmin"])
def test_staff_queue_a_message_to_a_user(request, sender, customer):
    actor = request.getfixturevalue(sender)

    response = send(token_client(actor), user_id=customer.pk)

    assert response.status_code == 202
    email = OutboundEmail.objects.get()
    assert response.json() == {"success": True, "email_id": email.pk, "status": "queued"}
    assert (email.to, email.subject, email.status) == (customer.email, "Maintenance",
                                                       EmailStatus.QUEUED)
    assert "Relay down at 02:00." in email.body_text
    event = AuditEvent.objects.get(action="notifications.sent")
    assert (event.actor, event.target_id) == (actor, str(customer.pk))
    assert event.details == {"email_id": email.pk, "subject": "Maintenance"}


def test_a_user_can_be_named_by_email_address_in_any_case(admin_user, customer):
    response = send(token_client(admin_user), email=customer.email.upper())

    assert response.status_code == 202
    assert OutboundEmail.objects.get().to == customer.email


@pytest.mark.parametrize("sender", ["distributor", "customer"])
def test_non_staff_are_told_nothing_is_here(request, sender, stranger):
    response = send(token_client(request.getfixturevalue(sender)), user_id=stranger.pk)

    assert response.status_code == 404
    assert response.json()["success"] is False
    assert not OutboundEmail.objects.exists()
    assert not AuditEvent.objects.filter(action="notifications.sent").exists()


def test_anonymous_callers_must_authenticate(anon_api, customer):
    response = send(anon_api, user_id=customer.pk)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert not OutboundEmail.objects.exists()


def test_an_admin_cannot_write_to_a_super_admin(admin_user, superadmin):
    by_id = send(token_client(admin_user), user_id=superadmin.pk)
    by_email = send(token_client(admin_user), email=superadmin.email)

    assert (by_id.status_code, by_email.status_code) == (404, 404)
    assert by_id.json()["error"]["code"] == "not_found"
    assert not OutboundEmail.objects.exists()


def test_an_unknown_user_is_not_found(admin_user):
    response = send(token_client(admin_user), user_id=999999)

    assert response.status_code == 404
    assert response.json() == {"success": False,
                               "error": {"code": "not_found", "message": "No such user."}}


def test_a_deactivated_user_is_not_written_to(admin_user, customer):
    customer.is_active = False
    customer.save()

    response = send(token_client(admin_user), user_id=customer.pk)

    assert response.status_code == 404
    assert not OutboundEmail.objects.exists()


def test_a_missing_subject_is_named_in_the_error(admin_user, customer):
    response = token_client(admin_user).post(URL, {"user_id": customer.pk, "message": "hi"},
                                             format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "invalid"
    assert body["error"]["message"]
    assert list(body["error"]["fields"]) == ["subject"]
    assert not OutboundEmail.objects.exists()


def test_a_request_naming_no_user_is_refused(admin_user):
    response = token_client(admin_user).post(URL, {"subject": "s", "message": "m"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Name the user: user_id or email."


def test_malformed_json_is_refused(admin_user):
    response = token_client(admin_user).post(URL, data='{"subject": "unterminated',
                                             content_type="application/json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert error["message"]
    assert not OutboundEmail.objects.exists()


def test_a_json_value_that_is_not_an_object_is_refused(admin_user):
    response = token_client(admin_user).post(URL, data='["subject"]',
                                             content_type="application/json")

    assert response.status_code == 400
    assert response.json()["success"] is False
