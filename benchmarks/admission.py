"""The relay admission endpoint against a no-op answered at the same place, under gunicorn, in one
run: warm (every answer cached), cold (every answer a miss) and warm again right after 500 changes
to other customers.

    .venv/bin/python benchmarks/admission.py [--requests 20000] [--clients 4] [--workers 4]

Builds a throwaway database (SQLite in a temporary directory; with DATABASE_URL set, a new
PostgreSQL database beside the one it names, dropped at the end) holding 10,000 devices and 3,000
relay instances (1,000 customers × 3 relays × ~10 devices), serves the admission process as relays
meet it (derpmgr.admission_wsgi, with a no-op behind its fast path:
benchmarks/support/admission_noop.py) on a free loopback port, and drives, from `--clients`
processes each on one keep-alive connection, derper's exact body (half the node keys registered
devices of the token's user, half unknown) over the relays of the first 500 customers:

  no-op    POST /bench/noop: answered right behind the admission fast path, a constant body (the
           baseline: what every admission request costs before the decision);
  warm     POST /api/acl/admit/<token>, every answer cached (each connection first asked about
           every relay, as relays ask again and again);
  changed  the warm load again, right after changes to the other 500 customers (a new derpMap
           version each, through the service: committed, then invalidated as in production;
           500 a round);
  cold     the same, but each request's token invalidated from the client
           (admission.invalidate_tokens) just before it is sent: every request a miss.

Each round runs the loads in `--slices` interleaved slices (the machine's changing load falls on
all alike): no-op, warm, its share of the 500 changes then the changed load, cold. Prints
requests/s, p50 and p99 (medians of the rounds) and the ratios (medians of the rounds'): warm /
no-op (target >= 0.9), cold / no-op (target >= 0.5), changed / warm (target >= 0.9: the warm
rate kept). Exit status 1 below a target. The machine's other load shows in the numbers: run it
on a quiet machine.
REDIS_URL set: the admission cache is Redis, as in production; else per-process memory.
"""

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.acl.live_panel import free_port, serve  # noqa: E402 - no Django needed to import it

TARGETS = {"warm / no-op": 0.9, "cold / no-op": 0.5, "changed / warm": 0.9}
USERS, RELAYS_PER_USER, DEVICES = 1000, 3, 10_000
ASKED = USERS // 2  # customers whose relays are asked about; the changes are to the others
SERVERS = 30


# --- The database ------------------------------------------------------------------------------

def _database_url(work: Path) -> tuple[str, str | None]:
    """(URL of the throwaway database, its PostgreSQL name to drop or None)."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{work / 'bench.sqlite3'}", None
    name = f"derpmgr_bench_{os.getpid()}"
    _maintenance(f'CREATE DATABASE "{name}"')
    return urlparse(configured)._replace(path=f"/{name}").geturl(), name


def _maintenance(statement: str) -> None:
    """A statement on the server DATABASE_URL names, through its "postgres" database."""
    import psycopg

    server = urlparse(os.environ["DATABASE_URL"])._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(statement)


def _drop(name: str | None) -> None:
    if name:
        _maintenance(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _environment(work: Path, database_url: str) -> dict[str, str]:
    env = {"DERPMGR_ENV": "embedded", "DERPMGR_DATA_DIR": str(work / "data"),
           "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "derpmgr.settings",
           "SECRET_KEY": "benchmark-only-" + "x" * 40, "EMAIL_URL": "consolemail://",
           "CELERY_BROKER_URL": "memory://", "LOG_LEVEL": "WARNING"}
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return env


def _build(env: dict[str, str]) -> tuple[list, list, list[int]]:
    """Migrate and fill the database: ([(relay token, its user's node keys)] of the first ASKED
    customers, the same for the others, the others' user ids)."""
    os.environ.update(env)
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from apps.accounts.models import RentalState, Role, User
    from apps.acl.models import AclConfig, Device
    from apps.containers.models import DerpInstance, InstanceStatus
    from apps.servers.models import Server

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)  # as scripts/run.sh: the counters flush there
    now = timezone.now()
    servers = []
    for n in range(SERVERS):
        server = Server(name=f"bench-{n}", public_ip=f"198.18.{n // 250}.{n % 250 + 1}",
                        ssh_host=f"198.18.{n // 250}.{n % 250 + 1}", ssh_host_key="ssh-ed25519 AAAA",
                        port_range_start=30000, port_range_end=30999, max_containers=1000,
                        cert_fingerprint=f"{n:064x}")
        server.set_ssh_secret("not a real key")
        servers.append(server)
    Server.objects.bulk_create(servers)
    users = User.objects.bulk_create([
        User(username=f"bench{n}", email=f"bench{n}@example.com", role=Role.USER,
             rental_state=RentalState.ACTIVE, rental_expiry=now + timedelta(days=30),
             password="!") for n in range(USERS)])
    instances = []
    for n, user in enumerate(users):
        for k in range(RELAYS_PER_USER):
            server = servers[(n + k * 7) % SERVERS]
            instances.append(DerpInstance(user=user, server=server, port=30000 + n,
                                          status=InstanceStatus.RUNNING,
                                          container_name=f"bench-{n}-{k}"))
    DerpInstance.objects.bulk_create(instances, batch_size=500)
    devices = [Device(user=users[n % USERS], name=f"device {n}", node_key=f"nodekey:{n + 1:064x}")
               for n in range(DEVICES)]
    Device.objects.bulk_create(devices, batch_size=1000)
    AclConfig.objects.bulk_create([
        AclConfig(user=user, version=1, derp_map={"Regions": {}}, issued_at=now,
                  expires_at=now + timedelta(days=32), reason="benchmark") for user in users])
    keys: dict[int, list[str]] = {}
    for user_id, key in Device.objects.values_list("user_id", "node_key"):
        keys.setdefault(user_id, []).append(key)
    asked_ids = {user.pk for user in users[:ASKED]}
    relays: dict[bool, list] = {True: [], False: []}
    for token, user_id in DerpInstance.objects.values_list("admission_token", "user_id"):
        relays[user_id in asked_ids].append((token, keys[user_id]))
    return relays[True], relays[False], [user.pk for user in users[ASKED:]]


def _change(user_ids: list[int]) -> None:
    """A new derpMap version for each user, through the service (committed, then invalidated)."""
    from apps.accounts.models import User
    from apps.acl import services

    for user in User.objects.filter(pk__in=user_ids):
        services.issue_version(user=user, reason="benchmark", notify=False)


# --- The load ----------------------------------------------------------------------------------

def _requests(relays, count: int, seed: int) -> list[tuple[str, bytes]]:
    """(token, body): half registered keys, half unknown ones."""
    chooser = random.Random(seed)
    made = []
    for _ in range(count):
        token, keys = chooser.choice(relays)
        key = chooser.choice(keys) if chooser.random() < 0.5 else f"nodekey:{chooser.getrandbits(256):064x}"
        made.append((token, json.dumps({"NodePublic": key, "Source": "203.0.113.9"}).encode()))
    return made


_connection = None


def _connect(port: int, env: dict[str, str]) -> None:
    """Pool initializer: this process's one keep-alive connection, and Django (on the server's
    settings) to invalidate tokens as the cold load does."""
    import http.client

    import django

    global _connection
    os.environ.update(env)
    django.setup()
    _connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def _client(args) -> list[float]:
    """Send `work` in order on this process's connection (each token invalidated first when
    `cold`); each request's seconds. Every answer must be 200 and {"Allow": …} (exactly
    `expected`, when given)."""
    from apps.acl.admission import invalidate_tokens

    path_of, work, expected, cold = args
    latencies = []
    for token, body in work:
        if cold:
            invalidate_tokens([token])
        started = time.perf_counter()
        _connection.request("POST", path_of(token), body=body)  # no Content-Type, like derper
        response = _connection.getresponse()
        answer = response.read()
        latencies.append(time.perf_counter() - started)
        if response.status != 200 or not answer.startswith(b'{"Allow"') or (
                expected and answer != expected):
            raise RuntimeError(f"unexpected answer {response.status} {answer[:100]!r}")
    return latencies


def _admit_path(token: str) -> str:
    return f"/api/acl/admit/{token}"


def _no_op_path(token: str) -> str:
    return "/bench/noop"


def _drive(pool, path_of, shares, *, cold: bool = False, expected: bytes | None = None) -> dict:
    """Each client sends its share; the seconds it took and every request's latency."""
    started = time.perf_counter()
    per_client = pool.map(_client, [(path_of, share, expected, cold) for share in shares], chunksize=1)
    return {"seconds": time.perf_counter() - started,
            "latencies": [value for client in per_client for value in client]}


def _warm_up(pool, relays, clients: int) -> None:
    """Every connection asks about each of `relays` once (a registered device: all admitted), so
    the worker behind it has their answers cached."""
    every = [(token, json.dumps({"NodePublic": keys[0], "Source": "203.0.113.9"}).encode())
             for token, keys in relays]
    _drive(pool, _admit_path, [every] * clients, expected=b'{"Allow":true}')


def _total(runs: list[dict]) -> dict:
    """One load's figures over its slices: requests/s, p50, p99."""
    latencies = sorted(value for run in runs for value in run["latencies"])
    return {"rate": len(latencies) / sum(run["seconds"] for run in runs),
            "p50": latencies[len(latencies) // 2], "p99": latencies[int(len(latencies) * 0.99)]}


def _round(pool, args, asked: list, other_users: list[int], seed: int) -> dict[str, dict]:
    """Every load in `args.slices` interleaved slices (so that the machine's changing load falls on
    all alike): no-op, warm, a slice's share of the 500 changes then the changed load, cold."""
    keys_of = dict(asked)
    shares = [_requests(asked, args.requests // args.clients, seed=seed + c) for c in range(args.clients)]
    runs: dict[str, list] = {"no-op": [], "warm": [], "changed": [], "cold": []}
    for i in range(args.slices):
        part = [share[i::args.slices] for share in shares]
        runs["no-op"].append(_drive(pool, _no_op_path, part))
        runs["warm"].append(_drive(pool, _admit_path, part))
        _change(other_users[i::args.slices])
        runs["changed"].append(_drive(pool, _admit_path, part))
        cold = [share[i::args.slices][:args.cold_requests // args.clients // args.slices] for share in shares]
        runs["cold"].append(_drive(pool, _admit_path, cold, cold=True))
        _warm_up(pool, [(token, keys_of[token]) for share in cold for token, _body in share],
                 args.clients)  # what the cold slice dropped in the other workers
    return {name: _total(load) for name, load in runs.items()}


def _summary(name: str, rounds: list[dict]) -> None:
    middle = {key: statistics.median(r[key] for r in rounds) for key in ("rate", "p50", "p99")}
    print(f"{name:<10} {middle['rate']:8.0f} req/s   p50 {middle['p50'] * 1000:6.2f} ms   "
          f"p99 {middle['p99'] * 1000:6.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="per round, for each warm load")
    parser.add_argument("--cold-requests", type=int, default=5_000, help="per round")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="gunicorn threads per worker")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--slices", type=int, default=10, help="every load interleaved")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="derpmgr-admission-") as tmp:
        work = Path(tmp)
        database_url, database_name = _database_url(work)
        try:
            env = _environment(work, database_url)
            print("building the database …", flush=True)
            asked, others, other_users = _build(env)
            print(f"{len(asked) + len(others)} relays ({len(asked)} asked about), {DEVICES} devices; "
                  f"gunicorn {args.workers} workers × {args.threads} threads; {args.clients} clients; "
                  f"cache: {'Redis' if env.get('REDIS_URL') else 'per-process memory'}", flush=True)
            port = free_port()
            context = multiprocessing.get_context("spawn")
            loads: dict[str, list[dict]] = {"no-op": [], "warm": [], "changed": [], "cold": []}
            with serve(bind="127.0.0.1", port=port, env=env, workers=args.workers,
                       threads=args.threads, log=work / "gunicorn.log", keep_alive=600,
                       app="benchmarks.support.admission_noop:application", probe="/bench/noop"), \
                    context.Pool(args.clients, initializer=_connect, initargs=(port, env)) as pool:
                _warm_up(pool, asked + others, args.clients)
                for number in range(args.rounds):
                    figures = _round(pool, args, asked, other_users, seed=number * 100)
                    for name, rounds in loads.items():
                        rounds.append(figures[name])
                    print(f"round {number + 1}: " + ", ".join(
                        f"{name} {rounds[-1]['rate']:.0f}" for name, rounds in loads.items())
                        + " req/s", flush=True)
        finally:
            _drop(database_name)

    for name, rounds in loads.items():
        _summary(name, rounds)
    failed = False
    for name, target in TARGETS.items():
        over, under = name.split(" / ")
        ratio = statistics.median(a["rate"] / b["rate"]
                                  for a, b in zip(loads[over], loads[under], strict=True))
        failed |= ratio < target
        print(f"ratio {name} (median of the rounds): {ratio:.2f} (target >= {target})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
