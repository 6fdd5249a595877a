"""Personas and clients: super admin, admin, distributor, user, stranger, anonymous."""

import pytest
from django.core.cache import cache
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, Role
from tests import parts
from tests.factories import UserFactory, enrol_totp


@pytest.fixture(autouse=True)
def _postgres_marker(request):
    """@pytest.mark.postgres tests mean something only on PostgreSQL: elsewhere they are left
    out (skipped locally, a failure under CI=true; scripts/test.sh deselects them on SQLite)."""
    if request.node.get_closest_marker("postgres"):
        parts.require(parts.on_postgres(), "PostgreSQL (set DATABASE_URL)")


_DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Rate-limit counters and cached answers never leak from one test into the next."""
    if not (_DB_FIXTURES & set(request.fixturenames) or request.node.get_closest_marker("django_db")):
        yield  # a test without a database has no cache table to clear
        return
    django_db_blocker = request.getfixturevalue("django_db_blocker")
    request.getfixturevalue("django_db_setup")
    with django_db_blocker.unblock():
        cache.clear()
    yield
    with django_db_blocker.unblock():
        cache.clear()


@pytest.fixture(autouse=True)
def login_slowdown(monkeypatch):
    """The sign-in slow-down's waits, recorded instead of spent (tests assert them, never wait)."""
    from apps.accounts import login_limits

    waited: list[float] = []
    monkeypatch.setattr(login_limits, "sleeper", waited.append)
    return waited


@pytest.fixture
def superadmin(db):
    return UserFactory(username="root", role=Role.SUPERADMIN)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ops", role=Role.ADMIN)


@pytest.fixture
def distributor(db):
    return UserFactory(username="reseller", role=Role.DISTRIBUTOR)


@pytest.fixture
def customer(db):
    return UserFactory(username="alice", role=Role.USER)


@pytest.fixture
def stranger(db):
    return UserFactory(username="mallory", role=Role.USER)


def signed_in_client(user, *, verified: bool = True) -> Client:
    """A browser session for `user`; staff sessions pass the OTP step unless verified=False."""
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    if verified and user.mfa_required:
        device = enrol_totp(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def token_client(user) -> APIClient:
    client = APIClient(headers={"accept-language": "en"})
    _token, raw = ApiToken.issue(user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def anon_client():
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def anon_api():
    return APIClient(headers={"accept-language": "en"})


@pytest.fixture
def personas(superadmin, admin_user, distributor, customer, stranger):
    return {"superadmin": superadmin, "admin": admin_user, "distributor": distributor,
            "user": customer, "stranger": stranger}


@pytest.fixture
def fake_engine(settings):
    """The services drive an in-memory engine (tests/fakes.py) for the length of the test."""
    from apps.containers import engine as engine_module
    from tests.fakes import engine

    settings.CONTAINER_ENGINE = "tests.fakes.FakeEngine"
    engine_module._engine.cache_clear()
    yield engine()
    engine_module._engine.cache_clear()


@pytest.fixture
def run_operations(db):
    """Carry out the queued operations here and now, as a worker would; returns how many ran."""
    from apps.operations import services as operations

    return operations.run_due


@pytest.fixture
def celery_broker(tmp_path):
    """A queue of the test's own on the suite's broker, for real worker and beat processes."""
    from tests import workers

    with workers.private_broker(tmp_path) as broker:
        yield broker


@pytest.fixture
def celery_processes():
    """Worker and beat processes the test starts: stopped (by PID) at teardown."""
    started = []
    yield started
    for process in started:
        process.stop()


@pytest.fixture
def sweeper(transactional_db, celery_broker):
    """Beat asks for the operations sweep every second, on the test's queue."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_second, _ = IntervalSchedule.objects.get_or_create(every=1,
                                                             period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="sweep (test)", task="operations.sweep",
                                interval=every_second, queue=celery_broker.queue)
