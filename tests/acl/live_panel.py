"""The panel as a real server process (gunicorn) for the end-to-end test and the admission
benchmark. No Django imports: the benchmark starts it before Django is set up.

The process and its workers are stopped by PID (tests.fleet.infra.kill_tree), never by name.
"""

import contextlib
import http.client
import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.fleet import infra

REPO = Path(__file__).resolve().parents[2]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def answers(host: str, port: int, path: str = "/api/acl/ping") -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@contextlib.contextmanager
def serve(*, bind: str, port: int, env: dict[str, str], workers: int = 1, threads: int = 4,
          keep_alive: int = 2, log: Path | None = None, probe_host: str = "127.0.0.1",
          options: tuple[str, ...] = (), app: str = "derpmgr.wsgi:application",
          probe: str = "/api/acl/ping"):
    """gunicorn serving `app` on bind:port with `env` over this process's environment (and
    further gunicorn `options`); yields the process once GET `probe` answers 200."""
    environment = {**os.environ, **env}
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
         "--bind", f"{bind}:{port}", "--chdir", str(REPO), "--access-logfile", "-",
         "--graceful-timeout", "5", "--keep-alive", str(keep_alive), *options, app],
        env=environment, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
        start_new_session=True)
    try:
        infra.wait_for(lambda: process.poll() is not None or answers(probe_host, port, probe), timeout=60,
                       what=f"the panel on {bind}:{port}")
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log}")
        yield process
    finally:
        infra.kill_tree(process)
        if log:
            output.close()
