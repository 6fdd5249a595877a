"""The account API takes what its schema says and nothing that merely resembles it: a wrong type
is a 400 naming the field, with no account, token or mail made; answers carry the seed's keys."""

import pytest

from apps.accounts import services
from apps.accounts.models import ApiToken, User
from apps.notifications.models import OutboundEmail
from tests import api_contract as contract
from tests.accounts.helpers import STRONG_PASSWORD
from tests.conftest import token_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

REGISTER = {"email": "new@example.com", "username": "newcomer", "password": STRONG_PASSWORD}
PUBLIC_POSTS = ["/api/user/register", "/api/user/verify", "/api/user/resend_verification",
                "/api/user/login"]


def state() -> dict:
    return {"users": sorted(User.objects.values_list("pk", "email", "email_verified")),
            "tokens": ApiToken.objects.count(), "mail": OutboundEmail.objects.count()}


@pytest.mark.parametrize("field, body", contract.one_wrong_field(REGISTER, {
    "email": [*contract.NOT_A_STRING, "not-an-address", "a" * 250 + "@x.cn"],
    "username": [*contract.NOT_A_STRING, "ab", "x" * 41, "two words", "semi;colon"],
    "password": [*contract.NOT_A_STRING, "x" * 129],
}))
def test_registration_refuses_a_wrong_value_naming_the_field(anon_api, field, body):
    before = state()

    response = anon_api.post("/api/user/register", body, format="json")

    contract.refused_naming(response, field)
    assert state() == before


def test_registration_answers_202_with_the_seeds_user_id(anon_api):
    response = anon_api.post("/api/user/register", REGISTER, format="json")

    assert response.status_code == 202
    body = response.json()
    assert body["success"] is True
    assert "user_id" in body and body["message"]
    assert User.objects.filter(email="new@example.com").exists()


@pytest.mark.parametrize("token", [*contract.NOT_A_STRING, "", "x" * 513])
def test_verification_refuses_a_token_that_is_not_one(anon_api, customer, token):
    User.objects.filter(pk=customer.pk).update(email_verified=False)
    before = state()

    response = anon_api.post("/api/user/verify", {"token": token}, format="json")

    contract.refused_naming(response, "token")
    assert state() == before


def test_verification_answers_with_the_user(anon_api, customer):
    User.objects.filter(pk=customer.pk).update(email_verified=False)
    customer.refresh_from_db()

    response = anon_api.post("/api/user/verify", {"token": services.verification_token(customer)},
                             format="json")

    assert response.status_code == 200
    assert response.json()["user"]["id"] == customer.pk
    assert response.json()["user"]["email_verified"] is True


@pytest.mark.parametrize("email", [*contract.NOT_A_STRING, "nobody", ""])
def test_resending_refuses_a_malformed_address(anon_api, email):
    before = state()

    response = anon_api.post("/api/user/resend_verification", {"email": email}, format="json")

    contract.refused_naming(response, "email")
    assert state() == before


@pytest.mark.parametrize("field, body", contract.one_wrong_field(
    {"email": "alice@example.com", "password": PASSWORD},
    {"email": [*contract.NOT_A_STRING, "alice"], "password": [*contract.NOT_A_STRING, "x" * 129],
     "otp": [5, ["123456"], True, {"c": 1}, "1" * 17]}))
def test_login_refuses_a_wrong_value_naming_the_field(anon_api, customer, field, body):
    before = state()

    response = anon_api.post("/api/user/login", body, format="json")

    contract.refused_naming(response, field)
    assert state() == before


def test_login_answers_with_a_token_and_the_user(anon_api, customer):
    response = anon_api.post("/api/user/login", {"email": customer.email, "password": PASSWORD},
                             format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["token"] and body["user"]["id"] == customer.pk


@pytest.mark.parametrize("path", PUBLIC_POSTS)
def test_a_body_that_is_not_an_object_is_refused(anon_api, path):
    contract.refuses_every_non_object(anon_api, path, state)


def test_logout_answers_with_a_message_and_me_with_the_user(customer):
    client = token_client(customer)

    me = client.get("/api/user/me")
    assert me.status_code == 200 and me.json()["user"]["email"] == customer.email
    logout = client.post("/api/user/logout")
    assert logout.status_code == 200 and logout.json()["message"]
    assert client.get("/api/user/me").status_code == 401


@pytest.mark.parametrize("path, fields", [
    ("/api/user/register", {"email", "username", "password"}),
    ("/api/user/verify", {"token"}),
    ("/api/user/resend_verification", {"email"}),
    ("/api/user/login", {"email", "password", "otp"}),
])
def test_the_schema_publishes_each_request_body(path, fields):
    assert set(contract.request_properties(path)) == fields


@pytest.mark.parametrize("path, method, status, keys", [
    ("/api/user/register", "post", 202, {"success", "user_id", "message"}),
    ("/api/user/verify", "post", 200, {"success", "user"}),
    ("/api/user/resend_verification", "post", 200, {"success", "message"}),
    ("/api/user/login", "post", 200, {"success", "token", "user"}),
    ("/api/user/logout", "post", 200, {"success", "message"}),
    ("/api/user/me", "get", 200, {"success", "user"}),
])
def test_the_schema_publishes_each_answer(path, method, status, keys):
    assert set(contract.answer_properties(path, method, status)) == keys
