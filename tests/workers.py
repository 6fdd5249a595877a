"""Real Celery processes for tests: workers (prefork, killable by group or by pool process) and
beat, on a queue of their own so that nothing else sharing the broker takes their tasks.

The processes use the test database (tests.parts.database_url_for_subprocess) and this test's
settings given as environment variables. Every process is stopped by its own PID.
"""

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests import parts

CELERY = Path(sys.executable).with_name("celery")


@dataclasses.dataclass
class Broker:
    url: str
    queue: str
    env: dict  # what a worker or beat process needs to use it

    @contextlib.contextmanager
    def app(self):
        """A Celery app that publishes to this broker (for sending tasks from the test)."""
        from celery import Celery

        options = {}
        if self.url.startswith("filesystem://"):
            folder = self.env["DERPMGR_DATA_DIR"] + "/broker"
            options = {"data_folder_in": folder, "data_folder_out": folder,
                       "control_folder": folder + "/control"}
        app = Celery("test-sender", set_as_current=False, broker=self.url,
                     broker_transport_options=options)
        try:
            yield app
        finally:
            app.close()


@contextlib.contextmanager
def private_broker(tmp_path: Path):
    """The suite's broker (Redis in the PostgreSQL pass, a private folder otherwise)."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        data_dir = tmp_path / "worker-data"
        (data_dir / "broker" / "control").mkdir(parents=True)
        broker = Broker("filesystem://", queue, {"CELERY_BROKER_URL": "filesystem://",
                                                 "DERPMGR_DATA_DIR": str(data_dir)})
    else:
        parts.require(parts.tcp_reachable(settings.CELERY_BROKER_URL, 6379),
                      f"the broker at {settings.CELERY_BROKER_URL}")
        broker = Broker(settings.CELERY_BROKER_URL, queue,
                        {"CELERY_BROKER_URL": settings.CELERY_BROKER_URL})
    broker.env["CELERY_TASK_DEFAULT_QUEUE"] = queue
    yield broker
    if not broker.url.startswith("filesystem://"):
        with broker.app() as app, app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)


def process_env(broker: Broker, **extra) -> dict:
    env = {**os.environ, **broker.env, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "DATABASE_URL": parts.database_url_for_subprocess(),
           "SECRET_KEY": settings.SECRET_KEY, "CELERY_TASK_ALWAYS_EAGER": "false"}
    if settings.CREDENTIALS_KEY:
        keys = settings.CREDENTIALS_KEY
        env["CREDENTIALS_KEY"] = keys if isinstance(keys, str) else ",".join(keys)
    for key, value in extra.items():  # None: not in the process's environment at all
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


class CeleryProcess:
    """A `celery worker` or `celery beat` in a session of its own (so it can be killed whole)."""

    def __init__(self, args: list[str], env: dict, log_path: Path):
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen([str(CELERY), "-A", "derpmgr", *args],
                                            cwd=settings.BASE_DIR, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def pool_children(self) -> list[int]:
        from tests.fleet.infra import descendants

        return descendants(self.pid)

    def wait_for(self, condition, *, timeout: float = 30, what: str = "the outcome"):
        return wait_until(condition, processes=[self], timeout=timeout, what=what)

    def kill_group(self) -> None:
        """kill -9 the whole process group, as an OOM killer or a pulled plug would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill_group()


def start_worker(broker: Broker, log_path: Path, *, pool: str = "prefork", concurrency: int = 1,
                 beat: bool = False, name: str = "w", **env) -> CeleryProcess:
    args = ["worker", f"--pool={pool}", f"--concurrency={concurrency}", "--without-mingle",
            "--without-gossip", "--loglevel=INFO", "-Q", broker.queue,
            "-n", f"{broker.queue}-{name}@%h"]
    if beat:
        args += ["-B", "--schedule", str(log_path.with_suffix(".beat-schedule"))]
    return CeleryProcess(args, process_env(broker, **env), log_path)


def start_beat(broker: Broker, log_path: Path, **env) -> CeleryProcess:
    return CeleryProcess(["beat", "--loglevel=INFO", "--schedule",
                          str(log_path.with_suffix(".beat-schedule"))],
                         process_env(broker, **env), log_path)


def wait_until(condition, *, processes: list[CeleryProcess], timeout: float = 60,
               what: str = "the outcome"):
    """Poll `condition` until it returns something truthy; fail with the processes' logs when
    one exits or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        for process in processes:
            if process.process.poll() is not None:
                pytest.fail(f"a celery process exited ({process.process.returncode}):\n"
                            f"{process.log()[-4000:]}")
        if time.monotonic() > deadline:
            logs = "\n---\n".join(p.log()[-3000:] for p in processes)
            pytest.fail(f"no {what} within {timeout} s; logs:\n{logs}")
        time.sleep(0.1)  # polling interval


@contextlib.contextmanager
def redis_server(port: int):
    """A redis-server of the test's own on 127.0.0.1:port (a broker that can go down and come
    back), stopped by its PID."""
    import shutil

    import redis

    from tests.fleet import infra

    binary = shutil.which("redis-server")
    parts.require(binary is not None, "redis-server (apt-get install redis-server)")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    probe = redis.Redis(port=port, socket_timeout=0.5)

    def answers() -> bool:
        try:
            return probe.ping()
        except redis.exceptions.ConnectionError:
            return False

    try:
        infra.wait_for(lambda: process.poll() is not None or answers(), timeout=10,
                       what=f"redis-server on port {port}")
        yield process
    finally:
        probe.close()
        infra.kill_tree(process)
