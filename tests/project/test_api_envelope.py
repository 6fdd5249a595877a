"""Every API answer is the envelope: {"success": true, ...} or {"success": false, "error": {...}}."""

import pytest
from rest_framework.test import APIClient

from apps.accounts.api import MeView
from tests.conftest import token_client


@pytest.fixture
def staff_api(admin_user):
    return token_client(admin_user)


def _refusal(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize("path", ["/api/", "/api/nope", "/api/logs/system/", "/api/user/me/extra",
                                  "/api/logs"])
def test_an_unknown_api_route_is_404_json(anon_api, db, path):
    _refusal(anon_api.get(path), 404, "not_found")


def test_an_unknown_api_route_is_404_json_for_a_signed_in_caller_too(staff_api):
    _refusal(staff_api.post("/api/nope", {"a": 1}, format="json"), 404, "not_found")


def test_a_wrong_method_is_405_json(staff_api):
    _refusal(staff_api.get("/api/notifications/send"), 405, "method_not_allowed")


@pytest.mark.parametrize("body", ['{"email": ', "not json", '{"a": 1}}', "\xff"])
def test_a_malformed_json_body_is_400_json(staff_api, body):
    response = staff_api.generic("POST", "/api/notifications/send", body.encode("latin-1"),
                                 content_type="application/json")
    _refusal(response, 400, "parse_error")


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "42", "null", "true"])
def test_a_json_body_that_is_not_an_object_is_400_json(staff_api, body):
    response = staff_api.generic("POST", "/api/notifications/send", body,
                                 content_type="application/json")
    _refusal(response, 400)


@pytest.mark.parametrize("body", ["[1, 2]", "{oops"])
def test_the_public_login_endpoint_refuses_bad_bodies_the_same_way(anon_api, db, body):
    response = anon_api.generic("POST", "/api/user/login", body, content_type="application/json")
    _refusal(response, 400)


def test_an_invalid_form_names_the_fields_in_a_400(staff_api, customer):
    response = staff_api.post("/api/notifications/send", {"email": customer.email, "subject": "x"},
                              format="json")
    error = _refusal(response, 400, "invalid")
    assert set(error["fields"]) == {"message"}


def test_a_bad_token_is_401_json(anon_api, db):
    anon_api.credentials(HTTP_AUTHORIZATION="Bearer dm_not-a-token")
    _refusal(anon_api.get("/api/user/me"), 401, "authentication_failed")


def test_success_carries_success_true(staff_api):
    body = staff_api.get("/api/user/me").json()
    assert body["success"] is True
    assert body["user"]["role"] == "admin"


def test_the_schema_is_json_and_documents_the_log_endpoint(staff_api):
    response = staff_api.get("/api/schema")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    schema = response.json()
    log = schema["paths"]["/api/logs/system"]["get"]
    assert {"actor", "action", "target", "since", "until", "page", "page_size"} <= {
        p["name"] for p in log["parameters"]}


def test_a_crash_in_an_api_view_is_500_json_not_a_html_page(admin_user, monkeypatch):
    def crash(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(MeView, "get", crash)
    client = token_client(admin_user)
    client.raise_request_exception = False
    error = _refusal(client.get("/api/user/me"), 500, "server_error")
    assert "boom" not in error["message"]


def test_an_unknown_api_route_is_404_json_even_for_a_post_without_csrf_token(db):
    client = APIClient(enforce_csrf_checks=True)
    _refusal(client.post("/api/nope", {"a": 1}, format="json"), 404, "not_found")
