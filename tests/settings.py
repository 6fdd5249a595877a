"""Settings for the test suite: the project's settings with fast hashing and in-memory mail.

DATABASE_URL / REDIS_URL in the environment switch the suite to PostgreSQL / Redis, exactly as
they switch the product (scripts/test.sh runs the suite both ways).
"""

import os
from pathlib import Path

os.environ.setdefault("DERPMGR_ENV", "test")
os.environ.setdefault("DERPMGR_DATA_DIR",
                      str(Path(__file__).resolve().parent.parent / "data" / "test"))

from derpmgr.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
PANEL_URL = "http://testserver"
ALLOWED_HOSTS = ["*"]
