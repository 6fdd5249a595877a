"""Staff whose session has not passed the OTP step reach nothing but the MFA pages."""

import pytest

from tests.conftest import signed_in_client


@pytest.fixture(params=["superadmin", "admin"])
def unverified_staff(request, personas):
    return signed_in_client(personas[request.param], verified=False)


@pytest.mark.parametrize("path", ["/ops/", "/ops/audit/", "/admin/", "/admin/audit/auditevent/"])
def test_pages_send_an_unverified_staff_session_to_mfa(unverified_staff, path):
    response = unverified_staff.get(path)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/mfa/"


def test_the_api_refuses_an_unverified_staff_session_with_json(unverified_staff):
    response = unverified_staff.get("/api/logs/system")
    assert response.status_code == 403
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "mfa_required"
    assert "results" not in body
