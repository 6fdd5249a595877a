"""A real HTTP receiver for the webhook tests (a server thread on 127.0.0.1) and the fixtures
around it: the delivery task recorded instead of published, alerts and channels."""

import hashlib
import hmac
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection

from apps.monitoring import config, tasks
from apps.monitoring import services as alerts
from apps.monitoring.models import AlertType, Severity
from apps.notifications import tasks as outbox_tasks


class Received:
    def __init__(self, path: str, headers: dict, body: bytes):
        self.path, self.headers, self.body = path, headers, body

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        timestamp = self.headers["X-Derpmgr-Timestamp"]
        expected = hmac.new(secret.encode(), timestamp.encode() + b"." + self.body,
                            hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers["X-Derpmgr-Signature"], "sha256=" + expected)


class Receiver:
    """Keeps every POST; answers with the statuses queued in `answers` (then 200)."""

    def __init__(self):
        self.received: list[Received] = []
        self.answers: deque[int] = deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    status = receiver.answers.popleft() if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/derpmgr?team=ops"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[str]:
        return [r.json["event"] for r in self.received]

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"only {len(self.received)} of {count} arrived"
            time.sleep(0.02)
        return self.received


@pytest.fixture
def receiver(settings):
    """The receiver listens on loopback, which only MONITORING_ALLOW_PRIVATE_TARGETS allows."""
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = True
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def enqueued(monkeypatch) -> list:
    """Committed deliveries and mail ask Celery to send them: recorded here, never published
    to a broker other test runs share."""
    requests = []
    monkeypatch.setattr(tasks.deliver_alerts, "apply_async",
                        lambda *a, **kw: requests.append(("deliver_alerts", a, kw)))
    monkeypatch.setattr(outbox_tasks.dispatch_outbox_now, "delay",
                        lambda *a, **kw: requests.append(("dispatch_outbox_now", a, kw)))
    return requests


def webhook(superadmin, url: str, **fields):
    """A webhook channel made as a super admin makes it; (channel, its secret)."""
    return config.create_channel(actor=superadmin,
                                 data={"name": fields.pop("name", "pager"), "kind": "webhook",
                                       "url": url, **fields})


def unhealthy(server, severity=Severity.CRITICAL, message="SSH timed out"):
    return alerts.open_alert(type=AlertType.SERVER_UNHEALTHY, target=server, severity=severity,
                             message=message, details={"failures": 3})


def healthy_again(server):
    return alerts.resolve_alert(type=AlertType.SERVER_UNHEALTHY, target=server)


def run_at_once(workers: int, work) -> list[BaseException]:
    """`work()` from `workers` threads released together, each on its own database connection;
    returns what they raised."""
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run():
        try:
            start.wait(timeout=30)
            work()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a run hung"
    return errors
