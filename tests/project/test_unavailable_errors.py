"""Which errors mean "a part is unavailable, try again later" (503) and which stay bugs (500),
told from real failures: a database nobody listens on, SQLite locked by another connection, Redis
and the broker on a dead port. And what is logged about them carries no credentials."""

import sqlite3

import kombu
import pytest
import redis
from django.db import OperationalError, connection
from django.db.utils import ConnectionHandler
from redis.backoff import NoBackoff
from redis.retry import Retry

from derpmgr import unavailable
from tests import parts
from tests.acl.live_panel import free_port


@pytest.fixture
def failure(django_db_blocker):
    """The error a statement gets on a database of its own (not the test database)."""

    def run(alias_settings: dict, sql: str = "SELECT 1") -> OperationalError:
        database = ConnectionHandler({"default": alias_settings})["default"]
        try:
            with django_db_blocker.unblock(), database.cursor() as cursor:
                cursor.execute(sql)
        except OperationalError as error:
            return error
        finally:
            database.close()
        raise AssertionError("the statement did not fail")

    return run


def test_a_database_nobody_listens_on_is_unavailable(db, failure, tmp_path):
    if parts.on_postgres():
        dead = {**connection.settings_dict, "PORT": free_port(), "NAME": "derpmgr"}
    else:
        dead = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "missing" / "db.sqlite3")}
    assert unavailable.part_down(failure(dead)) == unavailable.DATABASE


def test_sqlite_locked_by_another_connection_is_unavailable(failure, tmp_path):
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x int)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        error = failure({"ENGINE": "django.db.backends.sqlite3", "NAME": str(path),
                         "OPTIONS": {"timeout": 0.05}}, "INSERT INTO t VALUES (1)")
    finally:
        holder.close()
    assert "database is locked" in str(error)
    assert unavailable.part_down(error) == unavailable.DATABASE


def test_an_sqlite_mistake_stays_a_bug(failure, tmp_path):
    error = failure({"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "db.sqlite3")},
                    "SELECT * FROM no_such_table")
    assert unavailable.part_down(error) is None


def test_redis_on_a_dead_port_is_unavailable():
    client = redis.Redis(port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    with pytest.raises(redis.exceptions.ConnectionError) as raised:
        client.get("x")
    assert unavailable.part_down(raised.value) == unavailable.CACHE


def test_a_broker_on_a_dead_port_is_unavailable():
    with kombu.Connection(f"redis://127.0.0.1:{free_port()}//", connect_timeout=0.5) as broker, \
            pytest.raises(kombu.exceptions.OperationalError) as raised:
        broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
    assert unavailable.part_down(raised.value) == unavailable.BROKER


def test_other_errors_are_not_unavailability():
    assert unavailable.part_down(ValueError("bad")) is None
    assert unavailable.part_down(KeyError("x")) is None


def test_the_description_carries_no_credentials():
    error = OperationalError("connect to postgres://derpmgr:hunter2@db:5432/x failed; password=hunter2 x")
    described = unavailable.describe(error)
    assert "hunter2" not in described
    assert described.startswith("django.db.utils.OperationalError: connect to postgres://derpmgr:***@db")
