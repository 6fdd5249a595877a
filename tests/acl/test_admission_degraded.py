"""Admission keeps answering when parts fail. The database down: cached answers still admit (a
cache hit touches no database), a cache miss refuses that one device. Redis down or frozen: the
database decides, quickly, and a change made meanwhile is not undone when Redis returns. Both
down: every device refused with {"Allow": false}, never a 500."""

import contextlib
import os
import shutil
import signal
import subprocess
import time

import pytest
import redis
from django.db import OperationalError, connection
from django.test import Client

from apps.acl import admission, services
from tests import parts
from tests.acl.conftest import admit, ask, node_key
from tests.acl.live_panel import free_port
from tests.fleet import infra

pytestmark = pytest.mark.django_db(transaction=True)  # the database goes away mid-test


@pytest.fixture
def client():
    return Client()


@pytest.fixture
def registered(renter, relays):
    services.add_device(user=renter, name="laptop", node_key=node_key(1))
    services.issue_version(user=renter, reason="test")
    return relays


@contextlib.contextmanager
def database_down(tmp_path):
    """This process's database connection points where no database is until the block ends."""
    settings_dict = connection.settings_dict
    saved = {key: settings_dict[key] for key in ("NAME", "PORT")}
    if parts.on_postgres():
        settings_dict["PORT"] = str(free_port())
    else:
        settings_dict["NAME"] = str(tmp_path / "missing" / "db.sqlite3")
    connection.close()
    try:
        with pytest.raises(OperationalError):
            connection.ensure_connection()  # really down
        yield
    finally:
        settings_dict.update(saved)
        connection.close()


def refused_without_answer(client, instance) -> bool:
    response = admit(client, instance.admission_token, {"NodePublic": node_key(1), "Source": "1.2.3.4"})
    return response.status_code == 503 and response.json() == {"Allow": False}


def test_the_database_down_cached_answers_still_admit(client, registered, tmp_path):
    cached, uncached = registered[0], registered[1]
    assert ask(client, cached, node_key(1)) is True
    with database_down(tmp_path):
        assert ask(client, cached, node_key(1)) is True
        assert ask(client, cached, node_key(2)) is False  # the cached answer also says who may not
        assert refused_without_answer(client, uncached)
    assert ask(client, uncached, node_key(1)) is True  # back: the miss is answered


# --- Redis down or frozen ---------------------------------------------------------------------

@pytest.fixture
def own_redis(settings, monkeypatch):
    """A redis-server of this test's own (stopped by its PID), as the admission cache."""
    server = shutil.which("redis-server")
    parts.require(server is not None, "redis-server (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        probe = redis.Redis(port=port, socket_timeout=0.5)
        infra.wait_for(lambda: _pings(probe), timeout=10, what="redis-server")
        settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
        shared = admission._SharedEntries()
        shared.RETRY_AFTER = 0  # every decision tries Redis again: the test sees each outcome
        monkeypatch.setattr(admission, "_shared", shared)
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)  # a frozen one stops like any other
        infra.kill_tree(process)


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


def timed_ask(client, instance, key: str) -> tuple[bool, float]:
    started = time.monotonic()
    allowed = ask(client, instance, key)
    return allowed, time.monotonic() - started


def test_redis_down_the_database_decides(client, registered, own_redis):
    relay_a = registered[0]
    assert ask(client, relay_a, node_key(1)) is True  # cached in Redis
    infra.kill_tree(own_redis)
    for key, expected in [(node_key(1), True), (node_key(2), False)]:
        allowed, took = timed_ask(client, relay_a, key)
        assert allowed is expected
        assert took < 1.0, f"{took:.2f}s"
    assert ask(client, registered[1], node_key(1)) is True


def test_redis_frozen_the_database_decides_and_a_change_outlives_the_thaw(
        client, renter, registered, own_redis):
    relay_a = registered[0]
    assert ask(client, relay_a, node_key(1)) is True  # cached in Redis
    os.kill(own_redis.pid, signal.SIGSTOP)
    allowed, took = timed_ask(client, relay_a, node_key(1))
    assert allowed is True and took < 1.5, f"{took:.2f}s"  # ADMISSION_REDIS_TIMEOUT, then the database
    services.remove_device(actor=renter, device=renter.devices.get(node_key=node_key(1)))
    allowed, took = timed_ask(client, relay_a, node_key(1))
    assert allowed is False and took < 1.5, f"{took:.2f}s"
    os.kill(own_redis.pid, signal.SIGCONT)  # Redis still holds the old "allowed" entry ...
    assert ask(client, relay_a, node_key(1)) is False  # ... but the missed invalidation is sent first


def test_both_down_every_device_is_refused_without_a_500(client, registered, own_redis, tmp_path, caplog):
    relay_a = registered[0]
    assert ask(client, relay_a, node_key(1)) is True
    infra.kill_tree(own_redis)
    with database_down(tmp_path):
        assert refused_without_answer(client, relay_a)
    assert not [record for record in caplog.records if record.exc_info]  # warnings, no tracebacks
