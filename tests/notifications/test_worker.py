"""The outbox is drained by Celery: a real worker process runs notifications.dispatch_outbox, and
beat asks for it every minute."""

import dataclasses
import io
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from apps.notifications import tasks
from apps.notifications.models import EmailStatus, OutboundEmail
from tests import parts

from .support import queue_mail

CELERY = Path(sys.executable).with_name("celery")


@dataclasses.dataclass
class Broker:
    """A broker the test publishes to and the worker consumes from, on a queue of its own so
    that no other worker sharing the broker takes the test's task."""

    app: Celery
    queue: str
    worker_env: dict


@pytest.fixture
def broker(tmp_path):
    queue = f"outbox-test-{uuid.uuid4().hex[:12]}"
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        # A private folder: the worker's DATA_DIR/broker, which the test writes into directly.
        data_dir = tmp_path / "worker-data"
        folder = data_dir / "broker"
        folder.mkdir(parents=True)
        app = Celery("outbox-test", set_as_current=False, broker="filesystem://",
                     broker_transport_options={"data_folder_in": str(folder),
                                               "data_folder_out": str(folder),
                                               "control_folder": str(folder / "control")})
        worker_env = {"CELERY_BROKER_URL": "filesystem://", "DERPMGR_DATA_DIR": str(data_dir)}
    else:
        parts.require(parts.tcp_reachable(settings.CELERY_BROKER_URL, 6379),
                      f"the broker at {settings.CELERY_BROKER_URL}")
        app = Celery("outbox-test", set_as_current=False, broker=settings.CELERY_BROKER_URL)
        worker_env = {"CELERY_BROKER_URL": settings.CELERY_BROKER_URL}
    yield Broker(app, queue, worker_env)
    with app.connection_for_write() as connection:
        connection.default_channel.queue_delete(queue)
    app.close()


def start_worker(broker: Broker, smtp_server, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, **broker.worker_env,
           "DJANGO_SETTINGS_MODULE": "tests.settings",
           "DATABASE_URL": parts.database_url_for_subprocess(),
           "CELERY_TASK_ALWAYS_EAGER": "false",
           "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
           "EMAIL_HOST": smtp_server.host, "EMAIL_PORT": str(smtp_server.port),
           "EMAIL_USE_TLS": "false", "EMAIL_USE_SSL": "false"}
    env.pop("EMAIL_URL", None)
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [str(CELERY), "-A", "derpmgr", "worker", "--pool=solo", "--without-mingle",
             "--without-gossip", "--loglevel=INFO", "-Q", broker.queue, "-n", f"{broker.queue}@%h"],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_worker(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def wait_for(condition, *, worker: subprocess.Popen, log_path: Path, timeout: float = 30) -> None:
    """Poll `condition` until it holds; fail with the worker's log when the deadline passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if worker.poll() is not None:
            pytest.fail(f"the worker exited with {worker.returncode}:\n{log_path.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no outcome within {timeout} s; worker log:\n{log_path.read_text()}")
        time.sleep(0.2)  # polling interval


def test_a_celery_worker_process_drains_the_outbox(transactional_db, smtp_server, broker, tmp_path):
    emails = [queue_mail("alice@example.com", "for alice"), queue_mail("bob@example.com", "for bob")]
    log_path = tmp_path / "worker.log"

    worker = start_worker(broker, smtp_server, log_path)
    try:
        broker.app.send_task("notifications.dispatch_outbox", queue=broker.queue)
        wait_for(lambda: len(smtp_server.mailbox.delivered) == 2
                 and not OutboundEmail.objects.exclude(status=EmailStatus.SENT).exists(),
                 worker=worker, log_path=log_path)
    finally:
        stop_worker(worker)

    assert sorted(m.subject for m in smtp_server.mailbox.delivered) == ["for alice", "for bob"]
    for email in emails:
        email.refresh_from_db()
        assert (email.status, email.attempts) == (EmailStatus.SENT, 1)


def test_the_task_sends_with_the_configured_backend(db):
    email = queue_mail("alice@example.com", "through the task")

    result = tasks.dispatch_outbox.apply()

    email.refresh_from_db()
    assert result.get()["sent"] == 1
    assert email.status == EmailStatus.SENT
    [message] = mail.outbox  # tests.settings' backend keeps what was sent in memory
    assert (message.to, message.subject) == (["alice@example.com"], "through the task")
    assert message.alternatives[0].mimetype == "text/html"


def test_beat_runs_the_dispatcher_every_minute(db):
    call_command("sync_schedules", stdout=io.StringIO())

    job = PeriodicTask.objects.get(task="notifications.dispatch_outbox")
    assert job.enabled
    assert (job.interval.every, job.interval.period) == (60, "seconds")
