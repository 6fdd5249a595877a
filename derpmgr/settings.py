"""derpmgr settings.

Every setting comes from the environment (django-environ). Left unset, each falls back to the
embedded default: one machine, no services to install — SQLite under DATA_DIR, the database
cache, Celery on kombu's filesystem broker with beat embedded in the worker, e-mail to files.
Set DERPMGR_ENV=production for the production checks (a real SECRET_KEY, no DEBUG).
"""

import base64
import os
import secrets
import tempfile
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from derpmgr import db_timeouts

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DERPMGR_ENV = env.str("DERPMGR_ENV", default="embedded")
if DERPMGR_ENV not in {"embedded", "production", "test"}:
    raise ImproperlyConfigured("DERPMGR_ENV must be embedded, production or test.")
PRODUCTION = DERPMGR_ENV == "production"

DATA_DIR = Path(env.str("DERPMGR_DATA_DIR", default=str(BASE_DIR / "data")))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _embedded_secret_key() -> str:
    """A key generated once per installation and kept in the data directory.

    The key is written whole under a temporary name (mode 0600), then linked into place: the
    web server and the worker starting together read either no file or the whole key, and the
    one whose link comes second uses the first one's key. An empty file, left by an earlier
    interrupted start, is replaced.
    """
    key_file = DATA_DIR / "secret_key"
    if key_file.exists() and key_file.read_text().strip():
        return key_file.read_text().strip()
    fd, temporary = tempfile.mkstemp(dir=DATA_DIR, prefix=".secret_key.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
        try:
            os.link(temporary, key_file)
        except FileExistsError:
            if not key_file.read_text().strip():
                os.replace(temporary, key_file)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return key_file.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="")
if PRODUCTION and (not SECRET_KEY or SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 40):
    raise ImproperlyConfigured(
        "DERPMGR_ENV=production needs SECRET_KEY set to a random value of at least 40 characters."
    )
SECRET_KEY = SECRET_KEY or _embedded_secret_key()

DEBUG = env.bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when DERPMGR_ENV=production.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Where scripts/run.sh serves the panel (gunicorn's --bind): HOST, HOST:PORT or [IPV6]:PORT.
DERPMGR_BIND = env.str("DERPMGR_BIND", default="127.0.0.1:8000")


def _served_url(bind: str) -> str:
    """The panel's address when it is served on `bind`: a wildcard host (0.0.0.0, ::) is reached
    on this machine at 127.0.0.1, and a unix socket or fd (behind a proxy) says nothing, so
    PANEL_URL must then be set to the public address."""
    bind = bind.strip()
    if bind.startswith(("unix:", "fd://")):
        return "http://127.0.0.1:8000"
    if bind.startswith("["):  # [IPv6] or [IPv6]:PORT
        host, _bracket, port = bind.partition("]")
        host, port = host + "]", port.lstrip(":")
    elif bind.count(":") == 1:
        host, port = bind.split(":")
    elif ":" in bind:  # a bare IPv6 address
        host, port = f"[{bind}]", ""
    else:
        host, port = bind, ""
    if host in ("", "0.0.0.0", "[::]"):  # noqa: S104 - a bind read, not made
        host = "127.0.0.1"
    return f"http://{host}:{port or 8000}"


# Public base URL of the panel: links in e-mails and the relays' admission URL are built on it.
# Unset, it follows DERPMGR_BIND, so the links point at the port run.sh serves.
PANEL_URL = env.str("PANEL_URL", default=_served_url(DERPMGR_BIND)).rstrip("/")
# Base URL the relays call for admission (derper's --verify-client-url); empty: PANEL_URL. Point
# it at the admission process (ADMISSION_BIND, behind the same proxy) so slow pages cannot starve it.
ADMISSION_URL = env.str("ADMISSION_URL", default="").rstrip("/")
# Where scripts/run.sh serves the admission process (derpmgr/admission_wsgi.py).
ADMISSION_BIND = env.str("ADMISSION_BIND", default="127.0.0.1:8001")
# Unknown relay tokens one calling address may ask about per minute (per process) before it is
# refused without a query; answers about unknown tokens are never cached (apps/acl/admission.py).
ADMISSION_UNKNOWN_TOKENS_PER_MINUTE = env.int("ADMISSION_UNKNOWN_TOKENS_PER_MINUTE", default=60)
# How many reverse proxies in front of the panel append to X-Forwarded-For (0: trust none).
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

INSTALLED_APPS = [
    "derpmgr.apps.DerpAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "derpmgr.apps.AuthenticatorAppsConfig",  # django_otp.plugins.otp_totp, named in Chinese too
    "derpmgr.apps.BackupCodesConfig",  # django_otp.plugins.otp_static
    "django_celery_beat",
    "django_htmx",
    "csp",
    "apps.audit",
    "apps.accounts",
    "apps.notifications",
    "apps.distribution",
    "apps.billing",
    "apps.servers",
    "apps.containers",
    "apps.acl",
    "apps.rentals",
    "apps.operations",
    "apps.monitoring",
    "apps.traffic",
]

MIDDLEWARE = [
    # Relays ask /api/acl/admit/<token> on every client connection: answered before the rest.
    "apps.acl.admission_view.AdmissionFastPath",
    # The database or Redis down or too slow: 503 with Retry-After, not a 500 (derpmgr/unavailable.py).
    "derpmgr.unavailable.UnavailableMiddleware",
    # NUL and other control characters in the path or query: 400 before any view or query sees them.
    "derpmgr.request_guard.ControlCharacterGuard",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Warns once when a proxy's X-Forwarded-For arrives with NUM_PROXIES=0 (derpmgr/proxies.py).
    "derpmgr.proxies.ForwardedForWithoutProxies",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Admin pages link only to what the viewer may open (derpmgr/admin_links.py).
    "derpmgr.admin_links.AdminViewer",
    "apps.accounts.middleware.RequireMfaMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "derpmgr.urls"
WSGI_APPLICATION = "derpmgr.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "apps.accounts.context_processors.navigation",
            ],
            "libraries": {"bounded_dates": "derpmgr.admin_lists"},
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'derpmgr.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock when a transaction starts, so the web server and the
        # Celery worker serialise their writes instead of failing with "database is locked".
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that worker and server processes started by tests see it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A database that is down or frozen must not hold a request (or a gunicorn worker) forever: seconds
# to connect, and seconds any one statement or lock wait may take (0: no limit). The web limit
# stays under gunicorn's 30-second worker timeout; Celery workers get their own (derpmgr/celery.py).
DATABASE_CONNECT_TIMEOUT = env.float("DATABASE_CONNECT_TIMEOUT", default=5)
DATABASE_STATEMENT_TIMEOUT = env.float("DATABASE_STATEMENT_TIMEOUT", default=20)
WORKER_DATABASE_STATEMENT_TIMEOUT = env.float("WORKER_DATABASE_STATEMENT_TIMEOUT", default=300)
db_timeouts.apply(DATABASES["default"], connect=DATABASE_CONNECT_TIMEOUT,
                  statement=DATABASE_STATEMENT_TIMEOUT)
# Connections are kept for this many seconds (0: a new one per request, 7.7 ms on PostgreSQL
# against 0.23 ms for a query) and serve request after request, task after task (derpmgr/celery.py);
# with the health check, the first query of a request or task on a kept connection is preceded by a
# cheap check, and a connection the database dropped is replaced instead of failing that request.
# Each thread holds its own: gunicorn workers × threads (+ admission, + Celery) connections at most.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
# What a client is told (Retry-After, seconds) when the database or Redis is unavailable.
UNAVAILABLE_RETRY_AFTER = env.int("UNAVAILABLE_RETRY_AFTER", default=30)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, sessions ------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Seconds to reach Redis and to wait for its answer before it counts as unavailable: for the cache
# and rate limits, and (shorter, they answer relays) for the admission answers.
REDIS_TIMEOUT = env.float("REDIS_TIMEOUT", default=2)
ADMISSION_REDIS_TIMEOUT = env.float("ADMISSION_REDIS_TIMEOUT", default=0.3)
# Where admission answers are cached: "auto" (Redis when REDIS_URL is set, else memory with
# generations in DATA_DIR) or "local" (memory, also with Redis: only when every process that
# changes rentals or answers relays runs on this host with the same DATA_DIR).
ADMISSION_CACHE = env.str("ADMISSION_CACHE", default="auto")
if ADMISSION_CACHE not in ("auto", "local"):
    raise ImproperlyConfigured("ADMISSION_CACHE must be auto or local")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL, "KEY_PREFIX": "derpmgr",
                          "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT,
                                      "socket_timeout": REDIS_TIMEOUT}}}
else:
    # Shared by every process on the machine, with an atomic increment for rate limits.
    CACHES = {"default": {"BACKEND": "derpmgr.cache.AtomicDatabaseCache",
                          "LOCATION": "derpmgr_cache"}}
# The relay admission answers (apps/acl/admission.py) keep their own cache: Redis (REDIS_URL)
# when there is one, else memory in each process kept right by per-token generations in DATA_DIR.
# Rate limits (derpmgr/ratelimits.py) count in the default cache: django-ratelimit's fixed windows
# for registration, resends, resets and codes; sliding windows of slices for sign-in (each slice
# an atomic counter on Redis or derpmgr.cache.AtomicDatabaseCache).
RATELIMIT_USE_CACHE = "default"
RATELIMIT_IP_META_KEY = "derpmgr.net.client_ip_for_ratelimit"
# The two supported shared caches here (Redis, atomic database cache) are not on the library's
# list of names, which is all this warning checks.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# A refused form gets the branded 403 page in the visitor's language (JSON under /api/).
CSRF_FAILURE_VIEW = "derpmgr.error_pages.csrf_failure"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=14 * 24 * 3600)

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.EmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 3600)
# How long an e-mail verification link stays valid.
EMAIL_VERIFICATION_MAX_AGE = env.int("EMAIL_VERIFICATION_MAX_AGE", default=48 * 3600)
# How long the set-password link of an invitation (staff, distributors) stays valid.
INVITATION_MAX_AGE = env.int("INVITATION_MAX_AGE", default=7 * 24 * 3600)
# Distributors must use MFA unless an operator relaxes it here.
MFA_REQUIRED_FOR_DISTRIBUTORS = env.bool("MFA_REQUIRED_FOR_DISTRIBUTORS", default=True)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="derpmgr")
MFA_BACKUP_CODE_COUNT = 10

# Rate limits: "count/period" with period s, m, h or d, e.g. 10/10m (derpmgr/ratelimits.py).
# Sign-in (apps/accounts/login_limits.py): hard limits only where the caller's address is part
# of the key; account-wide, wrong passwords slow every attempt down instead of blocking the owner.
RATE_LOGIN_PER_IP = env.str("RATE_LOGIN_PER_IP", default="30/10m")
RATE_LOGIN_PER_ACCOUNT_IP = env.str("RATE_LOGIN_PER_ACCOUNT_IP", default="10/10m")
LOGIN_SLOWDOWN_AFTER = env.str("LOGIN_SLOWDOWN_AFTER", default="5/10m")
LOGIN_SLOWDOWN_MAX_SECONDS = env.float("LOGIN_SLOWDOWN_MAX_SECONDS", default=3.0)
# Two-factor codes per account (reachable only with the right password).
RATE_LOGIN_PER_ACCOUNT = env.str("RATE_LOGIN_PER_ACCOUNT", default="10/10m")
RATE_REGISTER_PER_IP = env.str("RATE_REGISTER_PER_IP", default="10/h")
RATE_RESEND_PER_ACCOUNT = env.str("RATE_RESEND_PER_ACCOUNT", default="3/10m")
RATE_PASSWORD_RESET_PER_IP = env.str("RATE_PASSWORD_RESET_PER_IP", default="10/h")
RATE_PASSWORD_RESET_PER_ACCOUNT = env.str("RATE_PASSWORD_RESET_PER_ACCOUNT", default="3/h")

# --- Codes and commerce --------------------------------------------------------------------
# Largest batch of activation codes generated at once, and how long an unused code stays valid.
CODE_BATCH_MAX = env.int("CODE_BATCH_MAX", default=1000)
CODE_VALIDITY_DAYS = env.int("CODE_VALIDITY_DAYS", default=365)
# How to pay a pending order (bank account, Alipay/WeChat payee...), shown with its amount and number.
PAYMENT_INSTRUCTIONS = env.str("PAYMENT_INSTRUCTIONS", default="")
# Wrong activation codes (not all tries) per customer and per address.
RATE_REDEEM_PER_USER = env.str("RATE_REDEEM_PER_USER", default="10/h")
RATE_REDEEM_PER_IP = env.str("RATE_REDEEM_PER_IP", default="30/h")

# --- Fleet ----------------------------------------------------------------------------------


def _fernet_keys(keys: list[str]) -> list[str]:
    """CREDENTIALS_KEY's entries, each checked to be a Fernet key (never echoed in the error)."""
    for position, key in enumerate(keys, start=1):
        try:
            valid = len(base64.urlsafe_b64decode(key.encode())) == 32
        except (ValueError, TypeError):
            valid = False
        if not valid:
            raise ImproperlyConfigured(
                f"CREDENTIALS_KEY entry {position} is not a Fernet key (32 url-safe base64 bytes; "
                "make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())').")
    return keys


# Keys that encrypt server credentials at rest (Fernet), comma-separated: the first encrypts, every
# one decrypts, so a new key goes first and the old one stays second until reencrypt_credentials
# has run. Unset: one key derived from SECRET_KEY (tried last in any case, to move off it).
CREDENTIALS_KEY = _fernet_keys([k.strip() for k in env.list("CREDENTIALS_KEY", default=[]) if k.strip()])
# Decrypt-only keys installed by `manage.py restore` from a backup's key material (mode 0600).
CREDENTIALS_KEYRING = env.str("CREDENTIALS_KEYRING", default=str(DATA_DIR / "credentials_keyring"))
# Where `manage.py backup` writes its archive when no --output is given.
BACKUP_DIR = env.str("BACKUP_DIR", default=str(DATA_DIR / "backups"))
# The relay image and its arguments; {port}, {hostname}, {certdir}, {verify_url} are filled per
# instance, each as one argument (no shell is involved).
DERP_IMAGE = env.str("DERP_IMAGE", default="fredliang/derper:latest")
DERP_COMMAND = env.str(
    "DERP_COMMAND",
    default="-a :{port} -stun-port {port} -http-port -1 -hostname {hostname} -certmode manual "
            "-certdir {certdir} -verify-client-url {verify_url} -verify-client-url-fail-open=false")
# Where certificates live on each server, and where the relay container sees them.
DERP_HOST_CERT_DIR = env.str("DERP_HOST_CERT_DIR", default="/etc/derpmgr/certs")
DERP_CONTAINER_CERT_DIR = env.str("DERP_CONTAINER_CERT_DIR", default="/certs")
# What runs on a server to reach its container engine over SSH (stdin/stdout to the API socket).
DOCKER_DIAL_COMMAND = env.str("DOCKER_DIAL_COMMAND", default="docker system dial-stdio")
# Loopback and the panel's own addresses as servers (a fleet on the panel's machine, the tests);
# link-local, multicast, unspecified and reserved addresses are refused whatever this says.
SERVERS_ALLOW_LOCAL_ADDRESSES = env.bool("SERVERS_ALLOW_LOCAL_ADDRESSES", default=False)
SSH_CONNECT_TIMEOUT = env.int("SSH_CONNECT_TIMEOUT", default=10)
SSH_COMMAND_TIMEOUT = env.int("SSH_COMMAND_TIMEOUT", default=60)
# Speed test: bytes the panel sends over SSH when no test URL is set; seconds a download may take.
SPEED_TEST_BYTES = env.int("SPEED_TEST_BYTES", default=16 * 2**20)
SPEED_TEST_TIMEOUT = env.int("SPEED_TEST_TIMEOUT", default=60)
# Relays per rental when a plan does not say otherwise.
DEFAULT_SERVERS_PER_RENTAL = env.int("DEFAULT_SERVERS_PER_RENTAL", default=3)
# The container engine the services drive (a dotted path; tests and benchmarks swap in theirs).
CONTAINER_ENGINE = env.str("CONTAINER_ENGINE", default="apps.containers.engine.DockerEngine")
# Devices per customer when no plan says otherwise.
DEFAULT_MAX_DEVICES = env.int("DEFAULT_MAX_DEVICES", default=10)
# Add InsecureForTests to derpMap nodes: only for old clients that cannot pin a certificate.
DERP_INSECURE_FOR_TESTS = env.bool("DERP_INSECURE_FOR_TESTS", default=False)
# Offline IP database for locations: a MaxMind .mmdb or an ip2region .xdb file.
IP_DATABASE_PATH = env.str("IP_DATABASE_PATH", default="")
# Labels that mark this panel's containers (several panels may share a host).
PANEL_ID = env.str("PANEL_ID", default="derpmgr")

# --- E-mail ---------------------------------------------------------------------------------
if "EMAIL_URL" in env:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(DATA_DIR / "mail"))
    EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="derpmgr <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The seed's rule: at most this many e-mails to one address in any window of this many seconds.
EMAIL_RATE_LIMIT_COUNT = env.int("EMAIL_RATE_LIMIT_COUNT", default=5)
EMAIL_RATE_LIMIT_WINDOW = env.int("EMAIL_RATE_LIMIT_WINDOW", default=600)
# A worker holds an outbox row it is sending for this long, renewed while the send runs; past
# it, the row is taken to be lost with its worker and sent again (with the same Message-ID).
EMAIL_SEND_LEASE_SECONDS = env.int("EMAIL_SEND_LEASE_SECONDS", default=300)
# The outbox claims this many due e-mails at a time and sends them over one SMTP connection;
# a run goes on batch after batch while mail is due.
EMAIL_BATCH_SIZE = env.int("EMAIL_BATCH_SIZE", default=100)

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
# The filesystem broker wakes an idle worker when a message arrives (inotify, derpmgr/broker.py);
# this is how often a worker looks anyway while its pool is full (a freed slot makes no event) or
# where inotify is missing (kombu: every second). benchmarks/queue_hop.py measures the hop.
FILESYSTEM_BROKER_POLLING_INTERVAL = env.float("FILESYSTEM_BROKER_POLLING_INTERVAL", default=0.05)
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's transport, each message renamed into place whole (derpmgr/broker.py).
    CELERY_BROKER_TRANSPORT = "derpmgr.broker:Transport"
    _broker_dir = DATA_DIR / "broker"
    _broker_dir.mkdir(exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        # Broadcast (control) messages; kombu's default is a folder in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": FILESYSTEM_BROKER_POLLING_INTERVAL,
    }
CELERY_TASK_IGNORE_RESULT = True
# The queue tasks go to (and workers consume) unless told otherwise: panels sharing one broker
# give each its own.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing is a hint (the operation row is the record): a broker that is down must not hold
# a request for long.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
# Celery closes the database connection after every task unless told to reuse it; with kept
# connections, derpmgr/celery.py applies Django's rule (age, errors, health check) around each
# task instead, so Celery's own count is set out of the way.
CELERY_DB_REUSE_MAX = 1_000_000_000 if DATABASES["default"]["CONN_MAX_AGE"] else None

# --- Operations (remote work as rows; see apps/operations) -----------------------------------
# A worker's claim on an operation lasts this long unless renewed (a heartbeat renews it every
# third of it); after that, a killed worker's operation is taken up again.
OPERATION_LEASE_SECONDS = env.int("OPERATION_LEASE_SECONDS", default=120)
# A queued operation no worker picked up this long after it was sent is sent again.
OPERATION_REQUEUE_SECONDS = env.int("OPERATION_REQUEUE_SECONDS", default=60)
# Attempts per operation (transient failures are retried after 10, 20, 40 … seconds).
OPERATION_MAX_ATTEMPTS = env.int("OPERATION_MAX_ATTEMPTS", default=4)
OPERATION_RETRY_BASE_SECONDS = env.int("OPERATION_RETRY_BASE_SECONDS", default=10)
# Large lists (the codes' CSV) are written here by a worker and offered to whoever asked for
# them for EXPORT_KEEP_HOURS; the sweeper deletes older files. Web and workers must share it.
EXPORT_DIR = env.str("EXPORT_DIR", default=str(DATA_DIR / "exports"))
EXPORT_KEEP_HOURS = env.int("EXPORT_KEEP_HOURS", default=24)

# --- Fleet health (see apps/monitoring) -------------------------------------------------------
# One server's probe (SSH round trip and engine check) gives up after this many seconds, so a
# dead or slow server never holds up a probe round for longer.
MONITORING_PROBE_TIMEOUT = env.int("MONITORING_PROBE_TIMEOUT", default=30)
# Servers and relays probed at once.
MONITORING_PROBE_WORKERS = env.int("MONITORING_PROBE_WORKERS", default=32)
# Seconds each step of a relay probe (TCP, TLS, HTTP, STUN) may take.
MONITORING_RELAY_TIMEOUT = env.float("MONITORING_RELAY_TIMEOUT", default=5.0)
# With no ping targets configured, each server pings at most this many other servers.
MONITORING_MAX_PING_TARGETS = env.int("MONITORING_MAX_PING_TARGETS", default=8)
# Raw samples are kept this many days; hourly roll-ups this many.
SAMPLE_RETENTION_DAYS = env.int("SAMPLE_RETENTION_DAYS", default=3)
ROLLUP_RETENTION_DAYS = env.int("ROLLUP_RETENTION_DAYS", default=400)

# --- Prometheus endpoint (see apps/traffic/metrics.py) -----------------------------------------
# GET /metrics answers with this token (Authorization: Bearer <token> or ?token=), or to callers
# from METRICS_ALLOWED_IPS (addresses or CIDRs) without one. Neither set: the endpoint is off (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
# The admission endpoint adds its allowed/refused counts to the shared cache this often (seconds).
ADMISSION_COUNTER_FLUSH_SECONDS = env.float("ADMISSION_COUNTER_FLUSH_SECONDS", default=5.0)
# --- Traffic (see apps/traffic) ---------------------------------------------------------------
# Seconds between sampling rounds (the "traffic.sample" schedule): counters of every server's
# interface and relay containers, deltas into totals and series.
TRAFFIC_SAMPLE_SECONDS = env.int("TRAFFIC_SAMPLE_SECONDS", default=60)
# One server's reading gives up after this many seconds; servers read at once.
TRAFFIC_SAMPLE_TIMEOUT = env.int("TRAFFIC_SAMPLE_TIMEOUT", default=30)
TRAFFIC_SAMPLE_WORKERS = env.int("TRAFFIC_SAMPLE_WORKERS", default=64)
# What counts toward a server's monthly quota: "both" (received + sent), "tx" (sent only, as
# providers that bill outbound traffic count) or "rx".
TRAFFIC_QUOTA_COUNTS = env.str("TRAFFIC_QUOTA_COUNTS", default="both")
if TRAFFIC_QUOTA_COUNTS not in ("both", "tx", "rx"):
    raise ImproperlyConfigured("TRAFFIC_QUOTA_COUNTS must be both, tx or rx")
# Days the per-minute, hourly and daily traffic rows are kept (daily also for customers' days).
TRAFFIC_MINUTE_RETENTION_DAYS = env.int("TRAFFIC_MINUTE_RETENTION_DAYS", default=3)
TRAFFIC_HOUR_RETENTION_DAYS = env.int("TRAFFIC_HOUR_RETENTION_DAYS", default=35)
TRAFFIC_DAY_RETENTION_DAYS = env.int("TRAFFIC_DAY_RETENTION_DAYS", default=400)

# --- Rentals over time (see apps/rentals) ----------------------------------------------------
# Reminder e-mails this many days before a rental ends (each once per rental period).
RENTAL_REMINDER_DAYS = env.list("RENTAL_REMINDER_DAYS", cast=int, default=[7, 3, 1])
# A rental suspended at its end is deregistered (relays removed, account closed) this many days
# later unless renewed.
RENTAL_DEREGISTER_AFTER_DAYS = env.int("RENTAL_DEREGISTER_AFTER_DAYS", default=30)
# Attempts of the work that makes a customer's relays follow their rental (retries back off up
# to 5 minutes); after that the lifecycle job sends it again, so the intent is never dropped.
RENTAL_OPERATION_MAX_ATTEMPTS = env.int("RENTAL_OPERATION_MAX_ATTEMPTS", default=12)

# --- Abnormal usage (apps/traffic/usage.py) --------------------------------------------------
# A customer's usual day is an exponentially weighted mean over about this many days (alpha =
# 2 / (days + 1)); no alert before this many days are learned.
USAGE_BASELINE_DAYS = env.int("USAGE_BASELINE_DAYS", default=14)
USAGE_MIN_LEARNED_DAYS = env.int("USAGE_MIN_LEARNED_DAYS", default=7)

# --- Alerts (apps/monitoring) ----------------------------------------------------------------
# Webhook attempts per alert event (retried after 30 s, 2 min, 10 min, 1 h, 3 h, 6 h …), and the
# seconds one attempt may wait to connect and for each read.
ALERT_WEBHOOK_MAX_ATTEMPTS = env.int("ALERT_WEBHOOK_MAX_ATTEMPTS", default=8)
ALERT_WEBHOOK_TIMEOUT = env.float("ALERT_WEBHOOK_TIMEOUT", default=10)
# Let webhooks and ping targets use loopback and private addresses (a receiver on the panel's own
# network). Off, they are refused so they cannot reach the panel host's services (SSRF).
MONITORING_ALLOW_PRIVATE_TARGETS = env.bool("MONITORING_ALLOW_PRIVATE_TARGETS", default=False)

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["derpmgr.parsers.BoundedJSONParser",
                               "rest_framework.parsers.FormParser"],
    # Room for a version 2 without new URLs: `Accept: application/json; version=1` (the default);
    # any other version is a 406.
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.AcceptHeaderVersioning",
    "DEFAULT_VERSION": "1",
    "ALLOWED_VERSIONS": ["1"],
    "EXCEPTION_HANDLER": "derpmgr.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "derpmgr.api.EnvelopePagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "derpmgr API",
    "DESCRIPTION": "Accounts, activation codes, fleet, derpMaps and finance of a DERP rental business.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema is for API users: signed in, like every other endpoint but login/register.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "derpmgr.schema.add_error_envelope"],
    # One component per choice set, named after it (fields named "status" or "kind" abound).
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "apps.billing.models.OrderStatus",
        "OrderKindEnum": "apps.billing.models.OrderKind",
        "LedgerKindEnum": "apps.billing.models.LedgerKind",
        "SettlementMethodEnum": "apps.billing.models.SettlementMethod",
        "CodeStatusEnum": "apps.distribution.models.CodeStatus",
        "EmailStatusEnum": "apps.notifications.models.EmailStatus",
        "InstanceStatusEnum": "apps.containers.models.InstanceStatus",
        "FleetHealthEnum": "apps.servers.api.FLEET_HEALTH",
        "ChannelKindEnum": "apps.monitoring.models.ChannelKind",
        "SeverityEnum": "apps.monitoring.models.Severity",
    },
}
# A JSON body larger than this, or nested deeper, is refused with a 400 (derpmgr/parsers.py).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1_048_576)
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
# API tokens expire after this many days unused.
API_TOKEN_IDLE_DAYS = env.int("API_TOKEN_IDLE_DAYS", default=30)

# --- I18n, time -----------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    # The TLS-terminating proxy says the client's scheme (README, Production).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HTTPS only, in production by default: HSTS for a year (the panel's host and its subdomains),
# and plain-http requests redirected — except what machines ask over plain http on the inside:
# the relays' admission URL (also answered before this middleware, by AdmissionFastPath) and
# Prometheus's scrape of /metrics (http://web:8000 in docker-compose.yml).
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^api/acl/admit/", r"^metrics$"]
# Content-Security-Policy (django-csp): scripts, styles, fonts and images from the panel only —
# no inline script, style element or style attribute (templates use static/js/app.js and
# static/css/app.css); data: images for the admin's and the API docs' icons.
CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
