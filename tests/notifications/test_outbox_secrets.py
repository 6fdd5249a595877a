"""Mail that grants access is sealed in the outbox: no admin or super admin can read a reset or
verification link anywhere (admin list, change page, search, API, ops pages), and the mail still
goes out with the working link."""

import pytest
from django.db import connection

from apps.notifications import services
from apps.notifications.models import OutboundEmail
from apps.notifications.transport import MailError
from tests.accounts.helpers import link_in, mails_to, path_of
from tests.conftest import signed_in_client, token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADMIN_PAGES = ["/admin/notifications/outboundemail/", "/admin/audit/auditevent/", "/ops/",
               "/ops/audit/"]


@pytest.fixture
def reset_mail(customer, anon_client):
    anon_client.post("/accounts/password/reset/", {"email": customer.email})
    [mail] = mails_to(customer.email, template="password-reset")
    return mail


def secret_of(mail) -> str:
    """The part of the mailed link that grants access (the token at its end)."""
    return path_of(link_in(mail)).rstrip("/").rsplit("/", 1)[-1]


def pages_an_operator_opens(client, mail) -> list[str]:
    urls = [*ADMIN_PAGES, f"/admin/notifications/outboundemail/{mail.pk}/change/",
            f"/admin/notifications/outboundemail/?q={mail.to}"]
    bodies = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        bodies.append(response.content.decode())
    return bodies


def found_by_searching(client, secret) -> list[int]:
    """The outbox rows the admin's search box finds for `secret` (the page echoes the query)."""
    response = client.get(f"/admin/notifications/outboundemail/?q={secret}")
    assert response.status_code == 200
    return [row.pk for row in response.context["cl"].result_list]


@pytest.mark.parametrize("persona", ["admin_user", "superadmin"])
def test_no_operator_can_read_a_reset_link_in_the_admin_or_the_ops_pages(persona, request,
                                                                          reset_mail):
    operator = request.getfixturevalue(persona)
    secret = secret_of(reset_mail)
    assert len(secret) > 20  # a real token, not an empty match

    client = signed_in_client(operator)

    bodies = pages_an_operator_opens(client, reset_mail)

    assert all(secret not in body for body in bodies)
    assert reset_mail.subject in bodies[4]  # the change page shows the metadata
    assert reset_mail.to in bodies[5]  # searching by the address finds the row
    assert found_by_searching(client, secret) == []
    assert found_by_searching(client, secret[-12:]) == []


@pytest.mark.parametrize("persona", ["admin_user", "superadmin"])
def test_no_operator_can_read_a_reset_link_through_the_api(persona, request, reset_mail):
    secret = secret_of(reset_mail)
    api = token_client(request.getfixturevalue(persona))

    response = api.get("/api/logs/system")

    assert response.status_code == 200
    assert secret not in response.content.decode()


def test_a_verification_link_is_sealed_too(anon_api, superadmin):
    anon_api.post("/api/user/register", {"email": "newbie@example.com", "username": "newbie",
                                         "password": "correct horse battery staple 9"},
                  format="json")
    [mail] = mails_to("newbie@example.com", template="verify-email")
    secret = secret_of(mail)

    client = signed_in_client(superadmin)

    assert all(secret not in body for body in pages_an_operator_opens(client, mail))
    assert found_by_searching(client, secret) == []


def test_the_bodies_are_sealed_at_rest(reset_mail):
    secret = secret_of(reset_mail)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM notifications_outboundemail WHERE id = %s", [reset_mail.pk])
        row = cursor.fetchone()

    assert not any(secret in str(column) for column in row)
    assert OutboundEmail.objects.filter(body_text_sealed__contains=secret).count() == 0


def test_a_failure_message_keeps_no_link(transport, clock):
    user = UserFactory(username="bob")
    services.send_to_user(user=user, template="verify-email",
                          context={"link": "https://panel.example/accounts/verify/s3cr3t/",
                                   "hours": 1})
    transport.fail_with = MailError("554 rejected: https://panel.example/accounts/verify/s3cr3t/"
                                    " looks like spam", transient=False)

    services.dispatch_outbox(transport=transport)

    [mail] = mails_to(user.email)
    assert "s3cr3t" not in mail.last_error
    assert "looks like spam" in mail.last_error


def test_the_mail_still_goes_out_with_the_working_link(mailbox, customer, anon_client,
                                                       reset_mail):
    services.dispatch_outbox()

    [received] = mailbox.to(customer.email)
    text = received.message.get_body(preferencelist=("plain",)).get_content()
    link = link_in(reset_mail)
    assert link in text
    response = anon_client.get(path_of(link))
    assert response.status_code == 302  # the token is good: on to choosing the new password
    assert anon_client.get(response["Location"]).status_code == 200


def test_a_body_no_key_opens_fails_alone_and_the_rest_goes(transport, clock):
    lost = services.send_email(to="a@example.com", template="test", context={"sender": "x"})
    OutboundEmail.objects.filter(pk=lost.pk).update(body_text_sealed="gAAAAAnot-a-token")
    services.send_email(to="b@example.com", template="test", context={"sender": "x"})

    report = services.dispatch_outbox(transport=transport)

    assert (report.sent, report.failed) == (1, 1)
    lost.refresh_from_db()
    assert lost.status == "failed" and "cannot be decrypted" in lost.last_error
    assert [message["to"] for message in transport.sent] == ["b@example.com"]


def test_the_migration_seals_the_bodies_already_in_the_outbox(transactional_db):
    from django.db.migrations.executor import MigrationExecutor

    before = [("notifications", "0002_message_id_and_claim_token")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        recipient = old.get_model("notifications", "Recipient").objects.create(
            address="alice@example.com")
        old.get_model("notifications", "OutboundEmail").objects.create(
            recipient=recipient, to="alice@example.com", subject="Reset",
            body_text="https://panel/reset/T0KEN/", body_html="<a>T0KEN</a>")
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    [mail] = OutboundEmail.objects.all()
    assert "T0KEN" not in mail.body_text_sealed + mail.body_html_sealed
    assert (mail.body_text, mail.body_html) == ("https://panel/reset/T0KEN/", "<a>T0KEN</a>")
