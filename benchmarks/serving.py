"""gunicorn worker classes, with and without --preload, on real pages and APIs, in one run.

    .venv/bin/python benchmarks/serving.py [--workers 2] [--threads 4] [--clients 8] [--seconds 4]
                                           [--rounds 2] [--rows 200]

Builds a throwaway database (SQLite in a temporary directory; with DATABASE_URL set, a new
PostgreSQL database beside the one it names, dropped at the end; the seeding of
benchmarks/list_apis.py with `--rows` servers, relays, codes and audit events), then starts
gunicorn with each candidate in turn, the same number of workers each:

  sync, a new database connection per request (DATABASE_CONN_MAX_AGE=0: how it was);
  sync; sync --preload; gthread (`--threads`); gthread --preload  (connections kept: the default);
  derpmgr/gunicorn_conf.py (what run.sh, the Dockerfile and docker-compose.yml use): gthread
  --preload, gc.freeze() in the master before each fork.

Against each, `--clients` processes, each on one keep-alive connection (a sync worker closes it
after every answer; the client opens another), drive every route for `--seconds`: a customer's
signed-in page, the sign-in page, a customer's API call and a staff list API. Then the private
memory of each worker is read from /proc/<pid>/smaps_rollup: USS (Private_Clean + Private_Dirty,
what the worker alone holds) and PSS (its share of what it shares); the master's PSS too, since
with --preload the master holds the application the workers share.

Prints per candidate and route req/s, p50 and p99 (medians of the rounds), and per candidate the
mean USS / PSS per worker and the total PSS of master + workers. The machine's other load shows
in the numbers: run it on a quiet machine.
"""

import argparse
import http.client
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.admission import _database_url, _drop, _environment  # noqa: E402 - after sys.path
from tests.acl.live_panel import free_port, serve  # noqa: E402 - no Django needed to import it
from tests.fleet.infra import descendants  # noqa: E402

# (name, extra environment, gunicorn options, threads)
CANDIDATES = [
    ("sync, connect per request", {"DATABASE_CONN_MAX_AGE": "0"}, ("--worker-class", "sync"), 1),
    ("sync", {}, ("--worker-class", "sync"), 1),
    ("sync --preload", {}, ("--worker-class", "sync", "--preload"), 1),
    ("gthread", {}, ("--worker-class", "gthread"), None),
    ("gthread --preload", {}, ("--worker-class", "gthread", "--preload"), None),
    ("gthread --preload gc.freeze", {}, ("--config", "python:derpmgr.gunicorn_conf"), None),
]


# --- The database ------------------------------------------------------------------------------

def _build(env: dict[str, str], rows: int) -> dict[str, tuple[str, dict[str, str]]]:
    """Migrate and seed; {route name: (path, headers)} for each route, as its caller."""
    import os

    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django.urls import reverse

    from apps.accounts.models import ApiToken
    from benchmarks.list_apis import _people, _seed

    call_command("migrate", verbosity=0)
    people = _people()
    _seed(people, 0, rows)
    customer = people["customers"][0]
    browser = Client()
    browser.force_login(customer)
    session = browser.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"}
    customer_token = ApiToken.issue(customer)[1]
    staff_token = people["tokens"]["superadmin"]
    routes = {
        "customer page": (reverse("accounts:dashboard"), cookie),
        "sign-in page": (reverse("accounts:login"), {}),
        "API: user/me": ("/api/user/me", {"Authorization": f"Bearer {customer_token}"}),
        f"API: server list ({rows})": ("/api/server/list", {"Authorization": f"Bearer {staff_token}"}),
    }
    for name, (path, headers) in routes.items():  # each answers 200 as its caller, or no benchmark
        response = Client().get(path, headers=headers | {"Host": "127.0.0.1"})
        if response.status_code != 200:
            raise SystemExit(f"{name} {path}: {response.status_code}")
    connections.close_all()
    return routes


# --- The load ----------------------------------------------------------------------------------

_connection = None


def _connect(port: int) -> None:
    global _connection
    _connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)


def _client(args) -> list[float]:
    """GET `path` on this process's connection until `seconds` have passed; each one's seconds."""
    path, headers, seconds = args
    latencies = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        _connection.request("GET", path, headers=headers)
        response = _connection.getresponse()
        answer = response.read()
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {answer[:200]!r}")
        if response.will_close:
            _connection.close()  # a sync worker's "Connection: close": the next request reconnects
    return latencies


def _drive(pool, clients: int, path: str, headers: dict, seconds: float) -> dict:
    started = time.perf_counter()
    per_client = pool.map(_client, [(path, headers, seconds)] * clients, chunksize=1)
    elapsed = time.perf_counter() - started
    latencies = sorted(value for client in per_client for value in client)
    return {"rate": len(latencies) / elapsed, "p50": latencies[len(latencies) // 2],
            "p99": latencies[int(len(latencies) * 0.99)]}


def _memory(pid: int) -> dict[str, int]:
    """USS and PSS of one process, in bytes (smaps_rollup is in kB)."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_unit = line.split()
        fields[name.rstrip(":")] = int(value) * 1024
    return {"uss": fields["Private_Clean"] + fields["Private_Dirty"], "pss": fields["Pss"]}


def _run(candidate, env, routes, args, pool_context) -> dict:
    name, extra, options, threads = candidate
    port = free_port()
    with tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
    with serve(bind="127.0.0.1", port=port, env=env | extra, workers=args.workers,
               threads=threads or args.threads, log=log_path, keep_alive=60,
               options=options) as master, \
            pool_context.Pool(args.clients, initializer=_connect, initargs=(port,)) as pool:
        for path, headers in routes.values():  # every worker warm on every route
            _drive(pool, args.clients, path, headers, 0.5)
        figures = {route: _drive(pool, args.clients, path, headers, args.seconds)
                   for route, (path, headers) in routes.items()}
        workers = descendants(master.pid)
        memory = [_memory(pid) for pid in workers]
        figures["memory"] = {
            "uss": statistics.mean(m["uss"] for m in memory),
            "pss": statistics.mean(m["pss"] for m in memory),
            "total": sum(m["pss"] for m in memory) + _memory(master.pid)["pss"]}
    log_path.unlink()
    print(f"  {name}: " + ", ".join(f"{route} {figures[route]['rate']:.0f} req/s" for route in routes)
          + f"; USS {figures['memory']['uss'] / 2**20:.1f} MiB/worker", flush=True)
    return figures


def _report(results: dict[str, list[dict]], routes) -> None:
    print(f"\n{'candidate':<27} {'route':<24} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for name, rounds in results.items():
        for route in routes:
            middle = {key: statistics.median(r[route][key] for r in rounds) for key in ("rate", "p50", "p99")}
            print(f"{name:<27} {route:<24} {middle['rate']:7.1f} {middle['p50'] * 1000:8.1f} "
                  f"{middle['p99'] * 1000:8.1f}")
    print(f"\n{'candidate':<27} {'USS/worker':>11} {'PSS/worker':>11} {'PSS master+workers':>19}")
    for name, rounds in results.items():
        memory = {key: statistics.median(r["memory"][key] for r in rounds) / 2**20
                  for key in ("uss", "pss", "total")}
        print(f"{name:<27} {memory['uss']:8.1f} MiB {memory['pss']:8.1f} MiB {memory['total']:15.1f} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, every candidate")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4.0, help="per route, candidate and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rows", type=int, default=200, help="servers (and so on) seeded")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="derpmgr-serving-") as tmp:
        work = Path(tmp)
        database_url, database_name = _database_url(work)
        try:
            env = _environment(work, database_url)
            env.pop("DATABASE_CONN_MAX_AGE", None)
            print("building the database …", flush=True)
            routes = _build(env, args.rows)
            print(f"{args.workers} workers per candidate ({args.threads} threads each for gthread); "
                  f"{args.clients} clients; database {'PostgreSQL' if database_name else 'SQLite'}; "
                  f"cache {'Redis' if env.get('REDIS_URL') else 'the database'}", flush=True)
            context = multiprocessing.get_context("spawn")
            results: dict[str, list[dict]] = {candidate[0]: [] for candidate in CANDIDATES}
            for round_number in range(1, args.rounds + 1):
                print(f"round {round_number}", flush=True)
                for candidate in CANDIDATES:
                    results[candidate[0]].append(_run(candidate, env, routes, args, context))
        finally:
            _drop(database_name)
    _report(results, routes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
