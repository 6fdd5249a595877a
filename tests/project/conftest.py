"""Helpers for the project-wide tests: a fresh Python process with chosen settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Settings read from the environment that must not leak from the test run into a fresh process.
_CONFIG_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "DERPMGR_ENV",
                "EMAIL_URL", "EMAIL_BACKEND", "DERPMGR_DATA_DIR", "DJANGO_SETTINGS_MODULE", "PANEL_URL",
                "ADMISSION_URL", "DERPMGR_BIND")


@pytest.fixture
def run_django(tmp_path):
    """Run `code` after django.setup() under derpmgr.settings with a fresh data directory."""

    def run(code: str = "", **env) -> subprocess.CompletedProcess:
        environment = {k: v for k, v in os.environ.items() if k not in _CONFIG_VARS}
        environment.update(DJANGO_SETTINGS_MODULE="derpmgr.settings",
                           DERPMGR_DATA_DIR=str(tmp_path / "data"), **env)
        return subprocess.run([sys.executable, "-c", f"import django; django.setup()\n{code}"],
                              cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=60)

    return run
