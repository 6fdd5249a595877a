"""A real Celery worker process draining the outbox, and the broker the test talks to it by."""

import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings

from tests import parts

CELERY = Path(sys.executable).with_name("celery")


@dataclasses.dataclass
class Broker:
    """A broker the test publishes to and the worker consumes from, on a queue of its own so
    that no other worker sharing the broker takes the test's task."""

    app: Celery
    queue: str
    worker_env: dict

    def dispatch(self) -> None:
        self.app.send_task("notifications.dispatch_outbox_now", queue=self.queue)


def open_broker(tmp_path: Path) -> Broker:
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
        return Broker(app, queue, {"CELERY_BROKER_URL": "filesystem://",
                                   "DERPMGR_DATA_DIR": str(data_dir)})
    parts.require(parts.tcp_reachable(settings.CELERY_BROKER_URL, 6379),
                  f"the broker at {settings.CELERY_BROKER_URL}")
    app = Celery("outbox-test", set_as_current=False, broker=settings.CELERY_BROKER_URL)
    return Broker(app, queue, {"CELERY_BROKER_URL": settings.CELERY_BROKER_URL})


def close_broker(broker: Broker) -> None:
    with broker.app.connection_for_write() as connection:
        connection.default_channel.queue_delete(broker.queue)
    broker.app.close()


@dataclasses.dataclass
class Worker:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, condition, *, timeout: float = 30, what: str = "the outcome") -> None:
        """Poll `condition` until it holds; fail with the worker's log when the deadline passes
        or the worker exits."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {timeout} s; worker log:\n{self.log()}")
            time.sleep(0.2)  # polling interval

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Die at once, as on a power cut or the OOM killer: SIGKILL to the whole process group
        (the worker leads a session of its own), so nothing gets to clean up."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def start_worker(broker: Broker, smtp_server, log_path: Path, **env_overrides: str) -> Worker:
    env = {**os.environ, **broker.worker_env,
           "DJANGO_SETTINGS_MODULE": "tests.settings",
           "DATABASE_URL": parts.database_url_for_subprocess(),
           "CELERY_TASK_ALWAYS_EAGER": "false",
           "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
           "EMAIL_HOST": smtp_server.host, "EMAIL_PORT": str(smtp_server.port),
           "EMAIL_USE_TLS": "false", "EMAIL_USE_SSL": "false", **env_overrides}
    env.pop("EMAIL_URL", None)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(CELERY), "-A", "derpmgr", "worker", "--pool=solo", "--without-mingle",
             "--without-gossip", "--loglevel=INFO", "-Q", broker.queue, "-n", f"{broker.queue}@%h"],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    return Worker(process, log_path)
