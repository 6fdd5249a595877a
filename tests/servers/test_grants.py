"""Adding and deleting servers cost money: the admin role does not carry them. An admin without
the grant is told so (403) on the API, the pages and the admin, and nothing is saved or queued;
once a super admin grants servers.add_server / servers.delete_server, the same admin may."""

import pytest

from apps.operations.models import Operation
from apps.servers.models import Server
from tests.conftest import signed_in_client, token_client
from tests.servers.conftest import grant


@pytest.fixture
def server(make_server):
    return make_server("paid-for")


def _nothing_happened(remote, servers: int):
    assert Server.objects.count() == servers and not Operation.objects.exists()
    assert remote.calls == []


def test_an_admin_without_the_grant_cannot_add_over_the_api(admin_user, remote, new_server_data):
    response = token_client(admin_user).post("/api/server/add", new_server_data, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "super admin can grant" in response.json()["error"]["message"]
    _nothing_happened(remote, 0)


def test_an_admin_without_the_grant_cannot_delete_over_the_api(admin_user, remote, server):
    response = token_client(admin_user).delete(f"/api/server/{server.pk}")

    assert response.status_code == 403
    assert Server.objects.filter(pk=server.pk, status="healthy").exists()
    _nothing_happened(remote, 1)


def test_an_admin_without_the_grant_cannot_add_on_the_page(admin_user, remote, new_server_data):
    client = signed_in_client(admin_user)

    assert client.get("/ops/servers/add/").status_code == 403
    assert client.post("/ops/servers/add/", new_server_data).status_code == 403
    _nothing_happened(remote, 0)


def test_an_admin_without_the_grant_cannot_delete_on_the_page(admin_user, remote, server):
    client = signed_in_client(admin_user)

    assert client.get(f"/ops/servers/{server.pk}/delete/").status_code == 403
    assert client.post(f"/ops/servers/{server.pk}/delete/").status_code == 403
    assert Server.objects.filter(pk=server.pk, status="healthy").exists()
    _nothing_happened(remote, 1)


def test_an_admin_without_the_grant_cannot_add_or_delete_in_the_admin(admin_user, remote, server,
                                                                      new_server_data):
    client = signed_in_client(admin_user)

    assert client.get("/admin/servers/server/add/").status_code == 403
    assert client.post("/admin/servers/server/add/", new_server_data).status_code == 403
    actions = dict(client.get("/admin/servers/server/").context["action_form"]
                   .fields["action"].choices)
    assert "delete_servers" not in actions and "reconcile" in actions
    response = client.post("/admin/servers/server/", {"action": "delete_servers", "apply": 1,
                                                      "_selected_action": [server.pk]})
    assert response.status_code in (200, 302)  # the admin ignores an action it does not offer
    _nothing_happened(remote, 1)


def test_the_granted_admin_may_add_and_delete(admin_user, remote, server, new_server_data,
                                              run_operations):
    grant(admin_user, "servers.add_server", "servers.delete_server")
    api = token_client(admin_user)

    assert api.post("/api/server/add", new_server_data, format="json").status_code == 202
    assert api.delete(f"/api/server/{server.pk}").status_code == 202
    run_operations()

    assert list(Server.objects.values_list("name", "status")) == [("sh-1", "healthy")]


def test_a_grant_of_adding_alone_does_not_allow_deleting(admin_user, remote, server):
    grant(admin_user, "servers.add_server")

    assert token_client(admin_user).delete(f"/api/server/{server.pk}").status_code == 403
    assert signed_in_client(admin_user).get("/ops/servers/add/").status_code == 200
    _nothing_happened(remote, 1)
