"""derpmgr.settings: production refuses unsafe settings; the embedded default needs nothing."""

import pytest

GOOD_KEY = "k" * 25 + "Q9-x_" * 5  # 50 characters, not a django-insecure key

PRINT_SETTINGS = """
from django.conf import settings
print(settings.DATABASES["default"]["ENGINE"])
print(settings.DATABASES["default"]["NAME"])
print(settings.CACHES["default"]["BACKEND"])
print(settings.CELERY_BROKER_URL)
print(settings.SECRET_KEY)
"""


@pytest.mark.parametrize("env", [
    {},
    {"SECRET_KEY": ""},
    {"SECRET_KEY": "too-short-to-be-a-real-key"},
    {"SECRET_KEY": "django-insecure-" + "x" * 40},
], ids=["unset", "empty", "short", "django-insecure"])
def test_production_refuses_to_start_without_a_real_secret_key(run_django, env):
    result = run_django(DERPMGR_ENV="production", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_with_debug_on(run_django):
    result = run_django(DERPMGR_ENV="production", SECRET_KEY=GOOD_KEY, DEBUG="true")
    assert result.returncode != 0
    assert "DEBUG" in result.stderr


def test_production_starts_with_a_good_key_and_uses_it(run_django):
    result = run_django("from django.conf import settings; print(settings.SECRET_KEY, settings.DEBUG)",
                        DERPMGR_ENV="production", SECRET_KEY=GOOD_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [GOOD_KEY, "False"]


def test_an_unknown_environment_name_is_refused(run_django):
    result = run_django(DERPMGR_ENV="prod")
    assert result.returncode != 0
    assert "DERPMGR_ENV" in result.stderr


def test_the_embedded_default_needs_no_services(run_django, tmp_path):
    result = run_django(PRINT_SETTINGS)
    assert result.returncode == 0, result.stderr
    engine, name, cache, broker, _key = result.stdout.splitlines()
    assert engine == "django.db.backends.sqlite3"
    assert name == str(tmp_path / "data" / "derpmgr.sqlite3")
    assert cache == "derpmgr.cache.AtomicDatabaseCache"
    assert broker == "filesystem://"
    assert (tmp_path / "data" / "broker").is_dir()


def test_the_embedded_secret_key_is_created_once_and_reused(run_django, tmp_path):
    first = run_django(PRINT_SETTINGS)
    second = run_django(PRINT_SETTINGS)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    key = first.stdout.splitlines()[-1]
    assert len(key) >= 50
    assert second.stdout.splitlines()[-1] == key
    key_file = tmp_path / "data" / "secret_key"
    assert key_file.read_text().strip() == key
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only


def test_a_database_url_replaces_the_embedded_database(run_django):
    result = run_django(PRINT_SETTINGS, DATABASE_URL="postgres://derp@db.example:5432/derpmgr",
                        REDIS_URL="redis://cache.example:6379/1")
    assert result.returncode == 0, result.stderr
    engine, name, cache, broker, _key = result.stdout.splitlines()
    assert (engine, name) == ("django.db.backends.postgresql", "derpmgr")
    assert cache == "django.core.cache.backends.redis.RedisCache"
    assert broker == "redis://cache.example:6379/1"


def test_an_empty_key_file_left_by_an_interrupted_start_is_replaced(run_django, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secret_key").write_text("")
    result = run_django(PRINT_SETTINGS)
    assert result.returncode == 0, result.stderr
    key = result.stdout.splitlines()[-1]
    assert len(key) >= 50
    assert (tmp_path / "data" / "secret_key").read_text().strip() == key
