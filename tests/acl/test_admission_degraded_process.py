"""The admission process (gunicorn derpmgr.admission_wsgi), as the relays meet it: it answers the
admission route and nothing else, and with the database frozen (tables locked by another
connection) it keeps admitting cached devices at once while a cache miss is refused within the
admission's own limit, not the pages' statement limit."""

import contextlib
import http.client
import json
import os
import subprocess
import sys
import time

import psycopg
import pytest
from django.conf import settings

from apps.acl import services
from apps.containers.engine import verify_url
from tests import parts
from tests.acl.conftest import node_key
from tests.acl.live_panel import REPO, free_port
from tests.fleet import infra

pytestmark = pytest.mark.django_db(transaction=True)  # the process must see the rows


def request(port: int, method: str, path: str, body: bytes | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def admit(port: int, token: str, key: str) -> tuple[int, dict, float]:
    body = json.dumps({"NodePublic": key, "Source": "198.51.100.7"}).encode()
    started = time.monotonic()
    status, answer = request(port, "POST", f"/api/acl/admit/{token}", body)
    return status, json.loads(answer), time.monotonic() - started


def answers(port: int) -> bool:
    try:
        return request(port, "POST", "/api/acl/admit/probe", b"{}")[0] == 200
    except OSError:
        return False


@pytest.fixture
def admission_process(tmp_path):
    """gunicorn serving derpmgr.admission_wsgi on this test's database and cache."""
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DERPMGR_ENV": "test",
           "DATABASE_URL": parts.database_url_for_subprocess(), "REDIS_URL": settings.REDIS_URL,
           "DERPMGR_DATA_DIR": str(settings.DATA_DIR), "CELERY_BROKER_URL": "memory://"}
    with open(tmp_path / "admission.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "8",
             "--bind", f"127.0.0.1:{port}", "--chdir", str(REPO), "derpmgr.admission_wsgi"],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        try:
            infra.wait_for(lambda: process.poll() is not None or answers(port), timeout=60,
                           what="the admission process")
            assert process.poll() is None, (tmp_path / "admission.log").read_text()
            yield port
        finally:
            infra.kill_tree(process)


@pytest.fixture
def registered(renter, relays):
    services.add_device(user=renter, name="laptop", node_key=node_key(1))
    services.issue_version(user=renter, reason="test")
    return relays


def test_it_answers_admission_and_nothing_else(admission_process, registered):
    token = registered[0].admission_token
    assert admit(admission_process, token, node_key(1))[:2] == (200, {"Allow": True})
    assert admit(admission_process, token, node_key(2))[:2] == (200, {"Allow": False})
    assert request(admission_process, "GET", f"/api/acl/admit/{token}") == (405, b'{"Allow":false}')
    for path in ("/", "/api/acl/ping", "/api/user/me", "/accounts/login/", "/admin/"):
        status, body = request(admission_process, "GET", path)
        assert status == 404, path
        assert json.loads(body)["error"]["code"] == "not_found"


def test_relays_are_told_the_admission_url(settings, registered):
    assert verify_url(registered[0]).startswith("http://testserver/api/acl/admit/")  # PANEL_URL
    settings.ADMISSION_URL = "https://admit.example.com"
    assert verify_url(registered[0]) == f"https://admit.example.com/api/acl/admit/{registered[0].admission_token}"


@contextlib.contextmanager
def frozen(*models):
    """Another connection holds ACCESS EXCLUSIVE locks on the models' tables until the block ends."""
    with psycopg.connect(parts.database_url_for_subprocess()) as holder:
        holder.execute("LOCK TABLE " + ", ".join(f'"{m._meta.db_table}"' for m in models)
                       + " IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            holder.rollback()


@pytest.mark.postgres
def test_a_frozen_database_cached_devices_are_admitted_at_once(admission_process, registered):
    from apps.acl.models import AclConfig, Device
    from apps.containers.models import DerpInstance

    cached, uncached = registered[0].admission_token, registered[1].admission_token
    assert admit(admission_process, cached, node_key(1))[:2] == (200, {"Allow": True})
    with frozen(DerpInstance, Device, AclConfig):
        status, answer, took = admit(admission_process, cached, node_key(1))
        assert (status, answer) == (200, {"Allow": True}) and took < 0.5, f"{took:.2f}s"
        status, answer, took = admit(admission_process, uncached, node_key(1))
        assert (status, answer) == (503, {"Allow": False})
        assert 1.5 < took < 4, f"{took:.2f}s"  # the admission's 2 s, not DATABASE_STATEMENT_TIMEOUT
    assert admit(admission_process, uncached, node_key(1))[:2] == (200, {"Allow": True})
