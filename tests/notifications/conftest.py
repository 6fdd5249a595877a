"""Fixtures for the outbox tests: a real SMTP server on loopback, a fake transport, a frozen clock."""

import pytest
import time_machine

from apps.notifications import tasks
from tests import parts

from .support import T0, FakeTransport, Mailbox, SmtpServer, point_django_at


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on a free loopback port, with Django's SMTP backend pointed at it."""
    server = SmtpServer(parts.free_port())
    server.start()
    point_django_at(settings, server)
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    return smtp_server.mailbox


@pytest.fixture
def broker(celery_broker):
    """A broker queue of the test's own for a real worker process (see worker_process.py)."""
    return celery_broker


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def clock():
    """Time stands still at T0 until the test moves it (clock.shift / clock.move_to)."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def kicks(monkeypatch) -> list:
    """Committed mail asks Celery for a dispatch run. Record the request instead of publishing
    it, so that no test leaves messages in a broker that other test runs share."""
    requests = []
    monkeypatch.setattr(tasks.dispatch_outbox_now, "delay", lambda *a, **kw: requests.append((a, kw)))
    return requests

