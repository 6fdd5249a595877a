"""The issue's flow, through the real admin form: a super admin grants an admin "can add
servers"; the admin adds one (API, page, admin); the grant is withdrawn; the admin gets 403 from
each of them again and nothing more is saved or queued."""

import pytest

from apps.operations.models import Operation, OperationKind
from apps.servers.models import Server
from tests.accounts.test_policy_grants import set_grants
from tests.conftest import signed_in_client, token_client

pytestmark = pytest.mark.django_db

ADD_PAGE, ADD_API, ADD_ADMIN = "/ops/servers/add/", "/api/server/add", "/admin/servers/server/add/"


def _answers(admin_user, data: dict, name: str) -> dict:
    body = {**data, "name": f"{name}-api", "public_ip": "127.0.0.2"}
    api = token_client(admin_user).post(ADD_API, body, format="json")
    page = signed_in_client(admin_user)
    form = {**data, "name": f"{name}-page", "public_ip": "127.0.0.3"}
    admin_form = {**data, "name": f"{name}-admin", "public_ip": "127.0.0.4"}
    return {"api": api.status_code, "page": page.post(ADD_PAGE, form).status_code,
            "admin": page.post(ADD_ADMIN, admin_form).status_code}


def test_a_grant_lets_an_admin_add_servers_everywhere_and_withdrawing_it_stops_each(
        superadmin, admin_user, remote, new_server_data):
    assert _answers(admin_user, new_server_data, "before") == {"api": 403, "page": 403,
                                                                "admin": 403}

    set_grants(superadmin, admin_user, ["servers.add_server"])
    granted = _answers(admin_user, new_server_data, "granted")

    assert granted == {"api": 202, "page": 302, "admin": 302}  # the page and admin lead to the task
    assert sorted(Server.objects.values_list("name", flat=True)) == [
        "granted-admin", "granted-api", "granted-page"]
    assert Operation.objects.filter(kind=OperationKind.ADD_SERVER,
                                    requested_by=admin_user).count() == 3

    set_grants(superadmin, admin_user, [])

    assert _answers(admin_user, new_server_data, "after") == {"api": 403, "page": 403,
                                                               "admin": 403}
    assert Server.objects.count() == 3 and Operation.objects.count() == 3
