"""Servers are the operators': admins and super admins see them on every page and route (adding
and deleting need a super admin's grant: tests/servers/test_grants.py); a distributor, a
customer or a stranger is told nothing is there (404), and an anonymous visitor is asked to sign
in (pages) or authenticate (API). Nobody else changes anything or queues any work."""

import pytest

from apps.audit.models import AuditEvent
from apps.operations.models import Operation
from apps.servers.models import Server
from tests.conftest import signed_in_client, token_client
from tests.servers.conftest import SERVER_GRANTS, grant

STAFF = ["superadmin", "admin"]
OTHERS = ["distributor", "user", "stranger"]
SERVER_NAME = "secret-relay-host"

PAGES = ["/ops/servers/", "/ops/servers/add/", "/ops/servers/{id}/",
         "/ops/servers/{id}/reconcile/", "/ops/servers/{id}/drain/", "/ops/servers/{id}/repin/",
         "/ops/servers/{id}/delete/", "/admin/servers/server/", "/admin/servers/server/add/",
         "/admin/servers/server/{id}/change/"]
POSTED_PAGES = ["/ops/servers/add/", "/ops/servers/{id}/check/", "/ops/servers/{id}/reconcile/",
                "/ops/servers/{id}/drain/", "/ops/servers/{id}/repin/",
                "/ops/servers/{id}/delete/"]
READS = ["/api/server/list", "/api/server/{id}"]
WRITES = [("post", "/api/server/add"), ("post", "/api/server/{id}/repin"),
          ("post", "/api/server/{id}/status"), ("delete", "/api/server/{id}"),
          ("post", "/api/server/{id}/reconcile"), ("post", "/api/server/{id}/drain")]


@pytest.fixture
def server(make_server, remote):
    return make_server(SERVER_NAME, public_ip="127.0.3.3", ssh_host="127.0.3.3")


def _unchanged(server, remote, fake_engine):
    assert Server.objects.filter(pk=server.pk, status="healthy", name=SERVER_NAME).exists()
    assert remote.calls == [] and fake_engine.calls == []
    assert not AuditEvent.objects.filter(action__startswith="servers.").exists()
    assert not Operation.objects.exists()


@pytest.mark.parametrize("persona", STAFF)
@pytest.mark.parametrize("page", PAGES)
def test_staff_open_every_server_page(personas, server, persona, page):
    user = grant(personas[persona], *SERVER_GRANTS) if persona == "admin" else personas[persona]
    response = signed_in_client(user).get(page.format(id=server.pk))

    assert response.status_code == 200


@pytest.mark.parametrize("persona", OTHERS)
@pytest.mark.parametrize("page", PAGES)
def test_others_are_told_there_is_no_server_page(personas, server, persona, page):
    response = signed_in_client(personas[persona]).get(page.format(id=server.pk))

    assert response.status_code == 404
    assert SERVER_NAME.encode() not in response.content


@pytest.mark.parametrize("persona", OTHERS)
@pytest.mark.parametrize("page", POSTED_PAGES)
def test_others_cannot_act_through_the_pages(personas, server, remote, fake_engine, persona, page):
    response = signed_in_client(personas[persona]).post(page.format(id=server.pk),
                                                        {"name": "x", "public_ip": "127.0.0.9"})

    assert response.status_code == 404
    _unchanged(server, remote, fake_engine)


@pytest.mark.parametrize("page", PAGES + POSTED_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(anon_client, server, page):
    path = page.format(id=server.pk)
    response = anon_client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("persona", STAFF)
@pytest.mark.parametrize("route", READS)
def test_staff_read_every_route(personas, server, persona, route):
    response = token_client(personas[persona]).get(route.format(id=server.pk))

    assert response.status_code == 200
    assert SERVER_NAME in response.content.decode()


@pytest.mark.parametrize("persona", STAFF)
def test_staff_ask_for_a_health_check(personas, server, remote, persona):
    response = token_client(personas[persona]).get("/api/server/health_check")

    assert response.status_code == 202
    assert response.json()["operation"]["kind"] == "probe"
    assert remote.calls == []  # the worker checks, not the request


@pytest.mark.parametrize("persona", OTHERS)
@pytest.mark.parametrize("route", [*READS, "/api/server/health_check"])
def test_others_read_nothing(personas, server, remote, persona, route):
    response = token_client(personas[persona]).get(route.format(id=server.pk))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert SERVER_NAME not in response.content.decode()
    assert remote.calls == [] and not Operation.objects.exists()


@pytest.mark.parametrize("persona", OTHERS)
@pytest.mark.parametrize(("method", "route"), WRITES)
def test_others_change_nothing(personas, server, remote, fake_engine, new_server_data, persona,
                               method, route):
    body = {**new_server_data, "status": "maintenance"}
    response = getattr(token_client(personas[persona]), method)(
        route.format(id=server.pk), body, format="json")

    assert response.status_code == 404
    assert SERVER_NAME not in response.content.decode()
    assert Server.objects.count() == 1
    _unchanged(server, remote, fake_engine)


@pytest.mark.parametrize(("method", "route"), [*[("get", r) for r in READS], *WRITES,
                                               ("get", "/api/server/health_check")])
def test_anonymous_callers_must_authenticate(anon_api, server, remote, fake_engine, method, route):
    response = getattr(anon_api, method)(route.format(id=server.pk), {}, format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    _unchanged(server, remote, fake_engine)
