"""The API's documentation: Swagger UI from local files for the staff, over the published schema."""

import pytest

from tests.conftest import signed_in_client, token_client

pytestmark = pytest.mark.django_db


def test_the_staff_open_swagger_ui_served_from_this_panel(personas):
    client = signed_in_client(personas["admin"])

    page = client.get("/api/docs/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "/api/schema" in script.content.decode()


@pytest.mark.parametrize("persona", ["user", "distributor"])
def test_customers_and_distributors_are_not_shown_the_docs(personas, persona):
    assert signed_in_client(personas[persona]).get("/api/docs/").status_code == 404


def test_a_visitor_is_asked_to_sign_in_for_the_docs(anon_api):
    assert anon_api.get("/api/docs/").status_code == 401


def test_the_schema_documents_bearer_tokens_and_the_error_envelope(personas):
    schema = token_client(personas["user"]).get("/api/schema").json()

    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "A token from POST /api/user/login."}
    assert schema["components"]["schemas"]["Error"]["properties"]["error"]["required"] == [
        "code", "message"]
    login = schema["paths"]["/api/user/login"]["post"]
    assert login["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
