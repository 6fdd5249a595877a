"""Database connections are kept between requests and health-checked: a real panel process
(gunicorn on the test database) serves request after request on one PostgreSQL connection, and
when the database ends that connection (pg_terminate_backend: a restart, a failover, an idle
timeout), the next request gets a new one and its answer — not a 503 or a 500."""

import http.client
import json

import pytest
from django.db import connection

from apps.accounts.models import ApiToken
from tests import parts
from tests.acl.live_panel import free_port, serve
from tests.factories import UserFactory
from tests.fleet.infra import wait_for
from tests.project.test_unavailable import panel_env

PRINT_CONNECTION_SETTINGS = """
from django.conf import settings
print(settings.DATABASES["default"]["CONN_MAX_AGE"], settings.DATABASES["default"]["CONN_HEALTH_CHECKS"],
      settings.CELERY_DB_REUSE_MAX)
"""


def test_connections_are_kept_and_checked_by_default(run_django):
    result = run_django(PRINT_CONNECTION_SETTINGS)
    assert result.returncode == 0, result.stderr
    max_age, health_checks, celery_reuse = result.stdout.split()
    assert (int(max_age), health_checks) == (600, "True")
    assert int(celery_reuse) > 10**6  # Celery does not close them after every task


def test_a_connection_per_request_can_be_chosen(run_django):
    result = run_django(PRINT_CONNECTION_SETTINGS, DATABASE_CONN_MAX_AGE="0",
                        DATABASE_CONN_HEALTH_CHECKS="false")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "False", "None"]  # Celery's own rule: close after each


def panel_backends() -> list[tuple[int, object]]:
    """(pid, start) of every session on the test database but this test's own."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE datname = "
                       "current_database() AND pid <> pg_backend_pid() "
                       "AND backend_type = 'client backend' ORDER BY pid")
        return cursor.fetchall()


def who_am_i(port: int, token: str) -> tuple[int, str]:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request("GET", "/api/user/me", headers={"Authorization": f"Bearer {token}",
                                                       "Accept-Language": "en"})
        response = client.getresponse()
        return response.status, response.read().decode()
    finally:
        client.close()


@pytest.fixture
def panel(transactional_db, tmp_path, request):
    """The panel as run.sh and the image start it (derpmgr/gunicorn_conf.py: preloaded, forked),
    with one process of one thread (so every request uses the same thread's connection) and the
    connection settings the test asks for; and a customer's API token."""
    parts.require(parts.on_postgres(), "PostgreSQL (set DATABASE_URL)")
    user = UserFactory(username="kept", email="kept@example.com")
    _token, raw = ApiToken.issue(user)
    env = panel_env(parts.database_url_for_subprocess(), **request.param)
    with serve(bind="127.0.0.1", port=(port := free_port()), env=env, workers=1, threads=1,
               log=tmp_path / "panel.log", options=("--config", "python:derpmgr.gunicorn_conf")):
        yield port, raw


@pytest.mark.postgres
@pytest.mark.parametrize("panel", [{}], indirect=True, ids=["defaults"])
def test_requests_share_one_connection_and_a_dropped_one_is_replaced(panel):
    port, token = panel

    status, body = who_am_i(port, token)
    assert status == 200, body
    (first,) = panel_backends()  # kept after the request, not closed with it

    status, body = who_am_i(port, token)
    assert status == 200, body
    assert panel_backends() == [first]  # the same session (pid and start) served the second one

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first[0]])
    wait_for(lambda: first not in panel_backends(), timeout=10, what="the session to end")

    status, body = who_am_i(port, token)
    assert status == 200, body
    assert json.loads(body)["user"]["email"] == "kept@example.com"
    (replacement,) = panel_backends()
    assert replacement[0] != first[0]


@pytest.mark.postgres
@pytest.mark.parametrize("panel", [{"DATABASE_CONN_HEALTH_CHECKS": "false"}], indirect=True,
                         ids=["without health checks"])
def test_without_the_health_check_the_dropped_connection_fails_one_request(panel):
    """What the check is for: without it the request that meets the dead connection is lost
    (a 503, as any database failure); the next one connects again."""
    port, token = panel
    assert who_am_i(port, token)[0] == 200
    (first,) = panel_backends()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first[0]])
    wait_for(lambda: first not in panel_backends(), timeout=10, what="the session to end")

    assert who_am_i(port, token)[0] == 503
    assert who_am_i(port, token)[0] == 200
