"""Operations survive killed workers: 500 queued relay starts, 4 worker processes, one killed
with SIGKILL every 2 s, against the same run without kills.

    .venv/bin/python benchmarks/operations.py [--operations 500] [--work 0.1] [--kill-every 2]

Real Celery (one worker, prefork pool of 4 processes, and beat running the sweeper every
second) on Redis: BENCH_REDIS_URL, else a redis-server of its own on a free port (the embedded
filesystem broker is not measured: after a pool process is killed, kombu's filesystem transport
stops handing that worker messages until it restarts). The database: BENCH_DATABASE_URL (e.g.
PostgreSQL), else a temporary SQLite file. The container engine is a stand-in
(benchmarks/support/counting_engine.py) whose "start" takes --work seconds and logs each
completed call, so the engine's calls can be counted.

Each run: N stopped relays, N start operations queued (as a request would), then the worker
starts them. With kills, one pool process is killed every --kill-every seconds (Celery forks a
new one; the killed one's operation is taken up again when its lease runs out). Prints, per run,
the time from the first operation started to the last finished, the throughput, operations done
and engine calls; then the throughput ratio (target: at least 0.8) and whether every operation
was done exactly once (one "started" audit event per relay; every relay running).
"""

import argparse
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_RATIO = 0.8
LEASE_SECONDS = 2


def _configure(work: Path, broker_url: str) -> dict:
    """The environment of this process and of the Celery processes, before Django starts."""
    env = {
        "DERPMGR_ENV": "embedded",
        "DERPMGR_DATA_DIR": str(work / "data"),
        "SECRET_KEY": "benchmark-only-" + "x" * 40,
        "EMAIL_URL": "consolemail://",
        "CONTAINER_ENGINE": "benchmarks.support.counting_engine.CountingEngine",
        "OPERATION_LEASE_SECONDS": str(LEASE_SECONDS),
        "OPERATION_REQUEUE_SECONDS": "60",  # the default: a backlog is not a lost message
        "CELERY_TASK_DEFAULT_QUEUE": f"bench-{os.getpid()}",
        "DJANGO_SETTINGS_MODULE": "derpmgr.settings",
        "PYTHONPATH": str(REPO),
    }
    env["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or \
        f"sqlite:///{work / 'bench.sqlite3'}"
    env["CELERY_BROKER_URL"] = broker_url
    env["REDIS_URL"] = ""  # the cache in the database: nothing here needs Redis but the broker
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return {**os.environ, **env}


def _prepare(count: int):
    """`count` stopped relays (50 per server) and one queued start operation for each."""
    from django.db import transaction
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from apps.accounts.models import RentalState, User
    from apps.containers import requests
    from apps.containers.models import DerpInstance, InstanceStatus
    from apps.operations.models import OperationKind
    from apps.servers.models import Server

    DerpInstance.objects.all().delete()
    from apps.operations.models import Operation

    Operation.objects.all().delete()
    per_server = 50
    servers = []
    for n in range((count + per_server - 1) // per_server):
        server, _ = Server.objects.get_or_create(
            name=f"bench-{n}", defaults={"public_ip": f"198.51.100.{n + 1}",
                                         "ssh_host": f"198.51.100.{n + 1}",
                                         "ssh_host_key": "ssh-ed25519 AAAA",
                                         "ssh_secret_encrypted": "unused"})
        servers.append(server)
    relays = []
    for i in range(count):
        user, _ = User.objects.get_or_create(
            email=f"bench{i % per_server}@example.com",
            defaults={"username": f"bench{i % per_server}", "rental_state": RentalState.ACTIVE})
        relays.append(DerpInstance(user=user, server=servers[i // per_server],
                                   port=30000 + i % per_server, status=InstanceStatus.STOPPED,
                                   container_name=f"bench-{i}"))
    DerpInstance.objects.bulk_create(relays)
    with transaction.atomic():
        for relay in DerpInstance.objects.select_related("server", "user"):
            requests.relay_action(OperationKind.START, actor=None, instance=relay)
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(name="sweep (bench)", defaults={
        "task": "operations.sweep", "interval": every,
        "queue": os.environ["CELERY_TASK_DEFAULT_QUEUE"]})


def _pool(worker: subprocess.Popen) -> list[int]:
    from tests.fleet.infra import descendants

    return descendants(worker.pid)


def _run(env: dict, work: Path, *, count: int, kill_every: float | None, label: str) -> dict:
    from django.db.models import Max, Min
    from django.utils import timezone

    from apps.audit.models import AuditEvent
    from apps.containers.models import DerpInstance, InstanceStatus
    from apps.operations.models import Operation, OperationState

    _prepare(count)
    log = work / f"engine-{label}.log"
    log.unlink(missing_ok=True)
    env = {**env, "BENCH_ENGINE_LOG": str(log)}
    celery = Path(sys.executable).with_name("celery")
    started_at = timezone.now()
    with open(work / f"worker-{label}.log", "wb") as output:
        worker = subprocess.Popen(
            [str(celery), "-A", "derpmgr", "worker", "--pool=prefork", "--concurrency=4",
             "--without-mingle", "--without-gossip", "--loglevel=WARNING",
             "-Q", env["CELERY_TASK_DEFAULT_QUEUE"]],
            cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        beat = subprocess.Popen(
            [str(celery), "-A", "derpmgr", "beat", "--loglevel=WARNING",
             "--schedule", str(work / f"schedule-{label}")],
            cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    kills = 0
    try:
        # The messages went out before the worker existed; the sweeper also covers any lost.
        next_kill = None
        deadline = time.monotonic() + float(os.environ.get("BENCH_TIMEOUT", "600"))
        while Operation.objects.exclude(state__in=(OperationState.DONE, OperationState.FAILED)).exists():
            if time.monotonic() > deadline:
                stuck = list(Operation.objects.exclude(
                    state__in=(OperationState.DONE, OperationState.FAILED)).values_list(
                    "pk", "state", "attempts", "lease_until")[:5])
                done = Operation.objects.filter(state=OperationState.DONE).count()
                raise SystemExit(f"{label}: not finished in time ({done} done); unfinished {stuck}"
                                 f"; see {output.name}")
            if kill_every and Operation.objects.filter(state=OperationState.RUNNING).exists():
                now = time.monotonic()
                next_kill = next_kill or now + kill_every
                pool = _pool(worker) if now >= next_kill else []
                if pool:
                    os.kill(random.choice(pool), signal.SIGKILL)
                    kills += 1
                    next_kill = now + kill_every
            time.sleep(0.1)  # polling interval of the benchmark's own loop
    finally:
        for process in (worker, beat):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    span = Operation.objects.aggregate(first=Min("started_at"), last=Max("finished_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    calls = log.read_text().splitlines() if log.exists() else []
    started_events = AuditEvent.objects.filter(
        action="containers.started", created_at__gte=started_at).values_list("target_id", flat=True)
    return {
        "label": label, "seconds": seconds, "per_second": count / seconds, "kills": kills,
        "done": Operation.objects.filter(state=OperationState.DONE).count(),
        "failed": Operation.objects.filter(state=OperationState.FAILED).count(),
        "retaken": Operation.objects.filter(attempts__gt=1).count(),
        "engine_calls": len(calls), "relays_called": len({line.split()[1] for line in calls}),
        "running": DerpInstance.objects.filter(status=InstanceStatus.RUNNING).count(),
        "started_events": len(started_events), "relays_started": len(set(started_events)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=500)
    parser.add_argument("--work", type=float, default=0.1, help="seconds per engine call")
    parser.add_argument("--kill-every", type=float, default=2.0)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="derpmgr-bench-ops-") as directory:
        work = Path(directory)
        with contextlib.ExitStack() as stack:
            broker_url = os.environ.get("BENCH_REDIS_URL") or _own_redis(stack)
            results = _measure(work, broker_url, options)
    _report(results, options)


def _own_redis(stack: contextlib.ExitStack) -> str:
    from tests.fleet.infra import kill_tree, wait_for

    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is needed (apt-get install redis-server), or set "
                         "BENCH_REDIS_URL")
    port = _free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL)
    stack.callback(kill_tree, process)
    wait_for(lambda: _answers(port), timeout=10, what="redis-server")
    return f"redis://127.0.0.1:{port}/0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _measure(work: Path, broker_url: str, options) -> list[dict]:
    env = _configure(work, broker_url)
    env["BENCH_WORK_SECONDS"] = os.environ["BENCH_WORK_SECONDS"] = str(options.work)
    from django.db import connection

    print(f"database: {connection.vendor}; broker: {broker_url.split(':')[0]}; "
          f"{options.operations} operations of {options.work} s; 4 pool processes; "
          f"lease {LEASE_SECONDS} s")
    return [_run(env, work, count=options.operations, kill_every=None, label="no kills"),
            _run(env, work, count=options.operations, kill_every=options.kill_every,
                 label="kills")]


def _report(results: list[dict], options) -> None:
    for r in results:
        print(f"{r['label']:>9}: {r['seconds']:.2f} s, {r['per_second']:.1f} ops/s, "
              f"{r['kills']} pool processes killed, done {r['done']}, failed {r['failed']}, "
              f"taken up again {r['retaken']}, engine calls {r['engine_calls']} on "
              f"{r['relays_called']} relays, running {r['running']}, 'started' events "
              f"{r['started_events']} for {r['relays_started']} relays")
    baseline, killed = results
    ratio = killed["per_second"] / baseline["per_second"]
    exactly_once = all(r["done"] == r["running"] == r["started_events"] == r["relays_started"]
                       == options.operations for r in results)
    print(f"throughput with kills / without: {ratio:.2f} (target >= {TARGET_RATIO}); "
          f"every operation done exactly once: {'yes' if exactly_once else 'NO'}")
    sys.exit(0 if ratio >= TARGET_RATIO and exactly_once else 1)


if __name__ == "__main__":
    main()
