"""Settings for the test suite: the project's settings with fast hashing and in-memory mail.

DATABASE_URL / REDIS_URL in the environment switch the suite to PostgreSQL / Redis, exactly as
they switch the product (scripts/test.sh runs the suite both ways).
"""

import os
from pathlib import Path

os.environ.setdefault("DERPMGR_ENV", "test")
os.environ.setdefault("DERPMGR_DATA_DIR",
                      str(Path(__file__).resolve().parent.parent / "data" / "test"))

from derpmgr.settings import *

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
PANEL_URL = "http://testserver"
ALLOWED_HOSTS = ["*"]
# The test fleet's servers are sshd containers on loopback addresses (tests/fleet).
SERVERS_ALLOW_LOCAL_ADDRESSES = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request otherwise

# One test database per pytest process, so that parallel runs on one machine never collide.
_test_db = DATABASES["default"].setdefault("TEST", {})
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _test_db["NAME"] = str(DATA_DIR / f"test-{os.getpid()}.sqlite3")
else:
    _test_db["NAME"] = f"test_{DATABASES['default']['NAME']}_{os.getpid()}"
