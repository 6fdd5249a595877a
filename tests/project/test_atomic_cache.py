"""derpmgr.cache.AtomicDatabaseCache: an increment concurrent workers cannot lose, which keeps
the counter's own lifetime (rate-limit windows are longer than the cache's default timeout)."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection

from derpmgr.cache import AtomicDatabaseCache

TABLE = "derpmgr_cache"


@pytest.fixture
def db_cache(db):
    call_command("createcachetable", TABLE)  # absent when the suite's cache is Redis
    return AtomicDatabaseCache(TABLE, {})


def _expires(cache, key):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT expires FROM {TABLE} WHERE cache_key = %s",
                       [cache.make_and_validate_key(key)])
        return cursor.fetchone()[0]


def test_incr_adds_and_returns_the_new_value(db_cache):
    db_cache.set("hits", 5)
    assert db_cache.incr("hits") == 6
    assert db_cache.incr("hits", 10) == 16
    assert db_cache.decr("hits", 6) == 10
    assert db_cache.get("hits") == 10


def test_incr_keeps_the_keys_own_expiry(db_cache):
    db_cache.add("window", 0, timeout=3600)
    before = _expires(db_cache, "window")
    db_cache.incr("window")
    assert _expires(db_cache, "window") == before
    assert db_cache.get("window") == 1


def test_incr_of_a_missing_or_expired_key_raises_value_error(db_cache):
    with pytest.raises(ValueError):
        db_cache.incr("never-set")
    db_cache.set("gone", 3, timeout=0)
    with pytest.raises(ValueError):
        db_cache.incr("gone")


@pytest.mark.postgres
def test_concurrent_increments_are_never_lost(transactional_db):
    call_command("createcachetable", TABLE)
    cache = AtomicDatabaseCache(TABLE, {})
    cache.set("concurrent", 0, timeout=600)
    errors = []

    def hammer():
        try:
            for _ in range(25):
                cache.incr("concurrent")
        except Exception as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cache.get("concurrent") == 200
    cache.delete("concurrent")
