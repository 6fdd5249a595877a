"""The database down or frozen: a real panel process (gunicorn) answers 503 with Retry-After — the
API's envelope with code "unavailable" under /api/, the branded page elsewhere — never a 500, and
logs one warning per request without credentials. A frozen database (a table locked by another
connection) ends the request after the statement limit instead of holding it."""

import http.client
import json
import time
from contextlib import contextmanager

import psycopg
import pytest
from django.conf import settings

from tests import parts
from tests.acl.live_panel import free_port, serve

RETRY_AFTER = 17  # the setting, not the default: the header must come from it
SECRET = "s3cret-pw"


def panel_env(database_url: str, **extra) -> dict[str, str]:
    return {"DJANGO_SETTINGS_MODULE": "tests.settings", "DERPMGR_ENV": "test",
            "DATABASE_URL": database_url, "DERPMGR_DATA_DIR": str(settings.DATA_DIR),
            "REDIS_URL": settings.REDIS_URL, "CELERY_BROKER_URL": "memory://",
            "UNAVAILABLE_RETRY_AFTER": str(RETRY_AFTER), **extra}


def unreachable_database_url(tmp_path) -> str:
    """PostgreSQL on a port nothing listens on (with a password that must never be logged), or
    an SQLite file in a directory that does not exist."""
    if parts.on_postgres():
        return f"postgres://postgres:{SECRET}@127.0.0.1:{free_port()}/derpmgr"
    return f"sqlite:///{tmp_path}/missing/derpmgr.sqlite3"


def get(port: int, path: str, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers={"Accept-Language": "en", **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


@pytest.fixture
def down_panel(tmp_path):
    log = tmp_path / "panel.log"
    port = free_port()
    with serve(bind="127.0.0.1", port=port, env=panel_env(unreachable_database_url(tmp_path)), log=log):
        yield port, log


API_CASES = {
    "a DRF view": {"Authorization": "Bearer not-checked-without-a-database"},
    "a middleware (the session)": {"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"},
}


@pytest.mark.parametrize("headers", API_CASES.values(), ids=API_CASES.keys())
def test_the_api_answers_503_with_the_envelope_and_retry_after(down_panel, headers):
    port, _log = down_panel
    status, response_headers, body = get(port, "/api/user/me", headers)
    assert status == 503, body
    assert response_headers["Retry-After"] == str(RETRY_AFTER)
    assert response_headers["Content-Type"] == "application/json"

    assert json.loads(body) == {"success": False, "error": {
        "code": "unavailable", "retry_after": RETRY_AFTER,
        "message": f"This service is temporarily unavailable. Please try again in {RETRY_AFTER} seconds."}}


PAGE_CASES = {
    "failing in a middleware": ("/accounts/me/", {"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"}),
    "failing in the view": ("/acl/feed/some-well-formed-feed-token.json", {}),
}


@pytest.mark.parametrize(("path", "headers"), PAGE_CASES.values(), ids=PAGE_CASES.keys())
def test_a_page_answers_the_branded_503_page(down_panel, path, headers):
    port, _log = down_panel
    status, response_headers, body = get(port, path, headers)
    assert status == 503, body
    assert response_headers["Retry-After"] == str(RETRY_AFTER)
    assert response_headers["Content-Type"].startswith("text/html")
    assert '<a class="brand"' in body and "<title>Temporarily unavailable · derpmgr</title>" in body
    assert f"try again in {RETRY_AFTER} seconds" in body


def test_the_page_is_in_chinese_by_default(down_panel):
    port, _log = down_panel
    status, _headers, body = get(port, "/accounts/me/", {
        "Accept-Language": "zh-hans", "Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"})
    assert status == 503
    assert "暂时不可用" in body and f"请在 {RETRY_AFTER} 秒后重试" in body


def test_each_failure_is_one_warning_without_traceback_or_password(down_panel):
    port, log = down_panel
    for path, headers in [("/api/user/me", API_CASES["a DRF view"]), *PAGE_CASES.values()]:
        assert get(port, path, headers)[0] == 503
    text = log.read_text()
    warnings = [line for line in text.splitlines() if "WARNING derpmgr.unavailable" in line]
    assert len(warnings) == 3, text
    assert all("database unavailable" in line for line in warnings)
    assert "Traceback" not in text and " ERROR " not in text
    assert SECRET not in text


# --- A frozen database ------------------------------------------------------------------------

@contextmanager
def tables_locked(*models):
    """Another connection holds ACCESS EXCLUSIVE locks on the models' tables until the block ends."""
    with psycopg.connect(parts.database_url_for_subprocess()) as holder:
        names = ", ".join(f'"{model._meta.db_table}"' for model in models)
        holder.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            holder.rollback()


@pytest.mark.postgres
def test_a_frozen_database_ends_the_request_with_503_after_the_statement_limit(db, tmp_path):
    from django.contrib.sessions.models import Session

    from apps.accounts.models import ApiToken

    port = free_port()
    env = panel_env(parts.database_url_for_subprocess(), DATABASE_STATEMENT_TIMEOUT="1")
    session = {"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"}
    with serve(bind="127.0.0.1", port=port, env=env, log=tmp_path / "panel.log"):
        assert get(port, "/accounts/me/", session)[0] == 302  # unfrozen: off to the sign-in page
        with tables_locked(Session, ApiToken):
            for path, headers in [("/accounts/me/", session), ("/api/user/me", API_CASES["a DRF view"])]:
                started = time.monotonic()
                status, response_headers, _body = get(port, path, headers)
                took = time.monotonic() - started
                assert status == 503 and response_headers["Retry-After"] == str(RETRY_AFTER)
                assert 0.9 < took < 5, f"{path} took {took:.2f}s"  # it waited for the lock, 1 s
        assert get(port, "/accounts/me/", session)[0] == 302  # and recovers once the lock goes


# --- Redis down -------------------------------------------------------------------------------

def test_redis_down_a_rate_limited_call_answers_503(db, tmp_path):
    """The rate limits count in Redis (REDIS_URL): with Redis gone, sign-in answers 503, quickly."""
    port = free_port()
    env = panel_env(parts.database_url_for_subprocess(), REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    log = tmp_path / "panel.log"
    with serve(bind="127.0.0.1", port=port, env=env, log=log):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        started = time.monotonic()
        connection.request("POST", "/api/user/login", body=json.dumps(
            {"email": "someone@example.com", "password": "whatever-it-is"}),
            headers={"Content-Type": "application/json", "Accept-Language": "en"})
        response = connection.getresponse()
        took = time.monotonic() - started
        body = json.loads(response.read())
        connection.close()
    assert response.status == 503 and response.getheader("Retry-After") == str(RETRY_AFTER)
    assert body["error"]["code"] == "unavailable"
    assert took < 3, f"{took:.2f}s"
    assert "WARNING derpmgr.unavailable redis unavailable" in log.read_text()
