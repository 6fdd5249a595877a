"""The queue hop on the embedded defaults: task queued → a real worker starts it.

    .venv/bin/python benchmarks/queue_hop.py [--tasks 60] [--settle 10] [--idle 10]

For each candidate — kombu's filesystem transport polling every 0.2 s (before) and every 0.05 s,
and derpmgr/broker.py (woken by inotify, FILESYSTEM_BROKER_POLLING_INTERVAL 0.05 s) — starts
the worker as scripts/run.sh does (`celery -A derpmgr worker -B --concurrency 2`: SQLite, the
filesystem broker in a temporary data directory, beat embedded with the project's schedules),
waits until it is ready, then
  idle: the CPU time the worker's processes (main, pool, beat) take over `--idle` seconds with
        nothing queued, `--settle` seconds after start (beat's first round of jobs is over);
  hop:  `--tasks` tasks sent one at a time at random moments (0–250 ms apart, so that sends fall
        anywhere in the polling cycle), each noting when it started (benchmarks/support/
        hop_task.py); the hop is its start minus its send.
Prints per candidate the hop's median, p90, p99 and max, and the idle CPU share of one core.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fleet.infra import descendants, kill_tree, wait_for  # noqa: E402 - after sys.path

TICKS = os.sysconf("SC_CLK_TCK")
STOCK = "benchmarks.support.stock_broker_settings"
# (name, settings module, polling interval)
CANDIDATES = [
    ("kombu, polling 0.2 s (before)", STOCK, 0.2),
    ("kombu, polling 0.05 s", STOCK, 0.05),
    ("derpmgr.broker, woken", "derpmgr.settings", 0.05),
]


def _environment(work: Path) -> dict[str, str]:
    env = {"DERPMGR_ENV": "embedded", "DERPMGR_DATA_DIR": str(work / "data"),
           "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "derpmgr.settings", "SECRET_KEY": "benchmark-only-" + "x" * 40,
           "EMAIL_URL": "consolemail://", "LOG_LEVEL": "WARNING"}
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    return env


def _setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("sync_schedules", verbosity=0)


def start_worker(env: dict[str, str], work: Path, candidate: tuple, log: Path) -> subprocess.Popen:
    """`celery worker -B` as scripts/run.sh starts it, with the benchmark's task included; returned
    once it says it is ready."""
    _name, settings_module, interval = candidate
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("celery")), "-A", "derpmgr", "worker", "-B",
             "--loglevel=INFO", "--concurrency", "2", "--include", "benchmarks.support.hop_task",
             "--schedule", str(log.with_suffix(".beat-schedule"))],
            cwd=REPO, env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": settings_module,
                           "FILESYSTEM_BROKER_POLLING_INTERVAL": str(interval)},
            stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    wait_for(lambda: worker.poll() is not None or b" ready." in log.read_bytes(), timeout=120,
             what="the worker to be ready")
    if worker.poll() is not None:
        raise SystemExit(f"the worker exited:\n{log.read_text()[-3000:]}")
    return worker


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def measure_idle(worker: subprocess.Popen, seconds: float, settle: float) -> float:
    time.sleep(settle)  # beat's first round of jobs, then the quiet to measure: not synchronisation
    pids = [worker.pid, *descendants(worker.pid)]
    before, started = cpu_seconds(pids), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pids) - before) / (time.monotonic() - started)


def measure_hops(count: int, hops_file: Path) -> list[float]:
    from benchmarks.support.hop_task import hop

    chooser = random.Random(15)
    for n in range(count):
        time.sleep(chooser.uniform(0, 0.25))  # a random phase against the worker's polling
        hop.delay(time.time())
        wait_for(lambda n=n: hops_file.exists() and len(hops_file.read_text().splitlines()) > n,
                 timeout=30, interval=0.002, what=f"task {n + 1} to start")
    pairs = [line.split() for line in hops_file.read_text().splitlines()]
    return sorted(float(started) - float(sent) for sent, started in pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after start before --idle")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU measured")
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory(prefix="derpmgr-hop-") as tmp:
        work = Path(tmp)
        env = _environment(work)
        _setup(env)
        from django.conf import settings

        hops_file = settings.DATA_DIR / "hops"
        for number, candidate in enumerate(CANDIDATES):
            log = work / f"worker-{number}.log"
            worker = start_worker(env, work, candidate, log)
            try:
                hops_file.unlink(missing_ok=True)
                idle = measure_idle(worker, args.idle, args.settle)
                hops = measure_hops(args.tasks, hops_file)
            except TimeoutError:
                print(log.read_text()[-4000:])
                raise
            finally:
                kill_tree(worker)
            results[candidate[0]] = (hops, idle)
            print(f"{candidate[0]}: median hop {statistics.median(hops) * 1000:.0f} ms, "
                  f"idle CPU {idle * 100:.2f} %", flush=True)

    print(f"\n{'candidate':<30} {'median':>8} {'p90':>8} {'p99':>8} {'max':>8} {'idle CPU':>9}")
    for name, (hops, idle) in results.items():
        def at(share, hops=hops):
            return hops[min(len(hops) - 1, int(len(hops) * share))] * 1000
        print(f"{name:<30} {statistics.median(hops) * 1000:5.1f} ms {at(0.9):5.1f} ms "
              f"{at(0.99):5.1f} ms {hops[-1] * 1000:5.1f} ms {idle * 100:7.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
