"""Nothing waits on the database forever: connections carry the statement and lock limits from
the settings (PostgreSQL) or the busy timeout (SQLite), and a Celery worker's connections carry
the worker's own, longer limit."""

import pytest
from django.db import connection

from derpmgr import db_timeouts
from derpmgr.celery import longer_statements_in_workers
from tests import parts


def limits() -> dict[str, str]:
    """What a fresh connection to the test database is held to."""
    connection.close()
    with connection.cursor() as cursor:
        if parts.on_postgres():
            cursor.execute("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
            statement, lock = cursor.fetchone()
            return {"statement": statement, "lock": lock}
        cursor.execute("PRAGMA busy_timeout")
        return {"busy_ms": str(cursor.fetchone()[0])}


def expected(seconds: float) -> dict[str, str]:
    if parts.on_postgres():
        return {"statement": f"{seconds:g}s", "lock": f"{seconds:g}s"}
    return {"busy_ms": str(int(seconds * 1000))}


@pytest.fixture
def restored_options():
    options = connection.settings_dict["OPTIONS"]
    before = dict(options)
    yield
    options.clear()
    options.update(before)
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_web_connections_carry_the_statement_limit(settings):
    assert limits() == expected(settings.DATABASE_STATEMENT_TIMEOUT)


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_gets_its_own_limit(settings, restored_options):
    settings.WORKER_DATABASE_STATEMENT_TIMEOUT = 7
    longer_statements_in_workers()
    assert limits() == expected(7)


def test_postgresql_options_keep_what_the_url_asked_for_and_the_last_limit_wins():
    database = {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {"options": "-c search_path=x"}}
    db_timeouts.apply(database, connect=5, statement=20)
    db_timeouts.apply(database, connect=5, statement=0)
    assert database["OPTIONS"] == {
        "connect_timeout": 5,
        "options": "-c search_path=x -c statement_timeout=20000 -c lock_timeout=20000 "
                   "-c statement_timeout=0 -c lock_timeout=0"}


def test_sqlite_without_a_limit_waits_a_day():
    database = {"ENGINE": "django.db.backends.sqlite3"}
    db_timeouts.apply(database, connect=5, statement=0)
    assert database["OPTIONS"] == {"timeout": db_timeouts.SQLITE_NO_LIMIT}
