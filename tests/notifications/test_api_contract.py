"""POST /api/notifications/send takes what its schema says: a wrong type is a 400 naming the
field and no mail is queued; the answer (202) names the queued mail."""

import pytest

from apps.notifications.models import OutboundEmail
from derpmgr.api_fields import ID_MAX
from tests import api_contract as contract
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

URL = "/api/notifications/send"
MESSAGE = {"subject": "Maintenance", "message": "Relay down at 02:00."}


@pytest.mark.parametrize("field, body", contract.one_wrong_field(MESSAGE, {
    "user_id": contract.not_an_integer(low=1, high=ID_MAX),
    "email": [5, True, ["a@example.com"], {"e": 1}, None, "not-an-address"],
    "subject": [*contract.NOT_A_STRING, "", "x" * 201],
    "message": [*contract.NOT_A_STRING, "", "x" * 20001],
}))
def test_a_wrong_value_is_refused_naming_the_field(admin_user, customer, field, body):
    body = {"user_id": customer.pk, **body} if field != "user_id" else body

    response = token_client(admin_user).post(URL, body, format="json")

    contract.refused_naming(response, field)
    assert not OutboundEmail.objects.exists()


def test_a_body_that_is_not_an_object_is_refused(admin_user):
    contract.refuses_every_non_object(token_client(admin_user), URL, OutboundEmail.objects.count)


def test_the_answer_names_the_queued_mail(admin_user, customer):
    response = token_client(admin_user).post(URL, {**MESSAGE, "email": customer.email.upper()},
                                             format="json")

    assert response.status_code == 202
    body = response.json()
    assert body["email_id"] == OutboundEmail.objects.get().pk
    assert body["status"] == "queued"


def test_the_schema_publishes_the_request_and_the_answer():
    assert set(contract.request_properties(URL)) == {"user_id", "email", "subject", "message"}
    assert set(contract.answer_properties(URL, "post", 202)) == {"success", "email_id", "status"}
