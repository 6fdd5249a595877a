"""Keys and commands the credential-key and backup tests share."""

import io
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import call_command
from django.utils import translation

NEW_KEY, OLD_KEY, LOST_KEY = (Fernet.generate_key().decode() for _ in range(3))


def use_own_keyring(settings, directory: Path) -> Path:
    """Restored keys go to a file of this test, never to the data directory's keyring."""
    settings.CREDENTIALS_KEYRING = str(directory / "credentials_keyring")
    return directory / "credentials_keyring"


def command(name: str, *args) -> str:
    """Run a management command in English; what it printed (CommandError propagates)."""
    out = io.StringIO()
    with translation.override("en"):
        call_command(name, *args, stdout=out, stderr=out)
    return out.getvalue()


def manage(*args, **environment) -> subprocess.CompletedProcess:
    """`manage.py <args>` in a process of its own, with `environment` added to this one's."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           **environment}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=120)


def decrypts_with(key: str, token: str) -> bool:
    try:
        Fernet(key.encode()).decrypt(token.encode())
    except Exception:
        return False
    return True
