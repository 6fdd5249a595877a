"""The relay admission endpoint against a trivial JSON view, under gunicorn, in the same run.

    .venv/bin/python benchmarks/admission.py [--requests 20000] [--clients 4] [--workers 4]

Builds a throwaway database (SQLite in a temporary directory; with DATABASE_URL set, a new
PostgreSQL database beside the one it names, dropped at the end) holding 10,000 devices and 3,000
relay instances (1,000 customers × 3 relays × ~10 devices), starts gunicorn on a free loopback
port, and drives, from `--clients` processes each on one keep-alive connection:

  (a) POST /api/acl/admit/<token> with derper's exact body, over every relay token, half of the
      node keys registered devices of the token's user and half unknown;
  (b) POST /api/acl/ping with the same body: a view that does nothing (the baseline).

Each client first sends every token once on its connection (so the worker behind it has every
answer cached, as in production where relays ask again and again), then the rounds alternate
(b), (a), (b), (a) … Prints requests/s, p50 and p99 for both (medians of the rounds) and the
median of the rounds' rate ratios (target: at least 0.8). The machine's other load shows in the
numbers: run it on a quiet machine.
REDIS_URL set: the admission cache is Redis, as in production.
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

TARGET_RATIO = 0.8
USERS, RELAYS_PER_USER, DEVICES = 1000, 3, 10_000
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


def _build(env: dict[str, str]) -> list[tuple[str, list[str]]]:
    """Migrate and fill the database; [(relay token, its user's node keys)] for every relay."""
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
    return [(token, keys[user_id]) for token, user_id in
            DerpInstance.objects.values_list("admission_token", "user_id")]


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


def _connect(port: int, warm_up) -> None:
    """Pool initializer: this process's one keep-alive connection, which first asks about every
    relay once, so that the worker behind it has every answer cached (as in production, where
    relays ask again and again)."""
    import http.client

    global _connection
    _connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    _client((_admit_path, warm_up, b'{"Allow":true}'))  # each a registered device: all admitted


def _client(args) -> list[float]:
    """Send `work` in order on this process's connection; each request's seconds. Every answer
    must be 200 and {"Allow": …} (exactly `expected`, when given)."""
    path_of, work, expected = args
    latencies = []
    for token, body in work:
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


def _ping_path(token: str) -> str:
    return "/api/acl/ping"


def _drive(pool, path_of, shares) -> dict:
    started = time.perf_counter()
    per_client = pool.map(_client, [(path_of, share, None) for share in shares], chunksize=1)
    elapsed = time.perf_counter() - started
    latencies = sorted(value for client in per_client for value in client)
    return {"rate": len(latencies) / elapsed, "p50": latencies[len(latencies) // 2],
            "p99": latencies[int(len(latencies) * 0.99)]}


def _summary(name: str, rounds: list[dict]) -> None:
    middle = {key: statistics.median(r[key] for r in rounds) for key in ("rate", "p50", "p99")}
    print(f"{name:<28} {middle['rate']:8.0f} req/s   p50 {middle['p50'] * 1000:6.2f} ms   "
          f"p99 {middle['p99'] * 1000:6.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="per round and endpoint")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="gunicorn threads per worker")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="derpmgr-admission-") as tmp:
        work = Path(tmp)
        database_url, database_name = _database_url(work)
        try:
            env = _environment(work, database_url)
            print("building the database …", flush=True)
            relays = _build(env)
            print(f"{len(relays)} relays, {DEVICES} devices; gunicorn {args.workers} workers × "
                  f"{args.threads} threads; {args.clients} clients; "
                  f"cache: {'Redis' if env.get('REDIS_URL') else 'per-process memory'}", flush=True)
            port = free_port()
            warm_up = [(token, json.dumps({"NodePublic": keys[0], "Source": "203.0.113.9"}).encode())
                       for token, keys in relays]
            context = multiprocessing.get_context("spawn")
            with serve(bind="127.0.0.1", port=port, env=env, workers=args.workers,
                       threads=args.threads, log=work / "gunicorn.log", keep_alive=600), \
                    context.Pool(args.clients, initializer=_connect, initargs=(port, warm_up)) as pool:
                _drive(pool, _ping_path, [warm_up[:1000]] * args.clients)
                admitted, pinged = [], []
                for round_number in range(args.rounds):
                    shares = [_requests(relays, args.requests // args.clients, seed=round_number * 100 + c)
                              for c in range(args.clients)]
                    pinged.append(_drive(pool, _ping_path, shares))
                    admitted.append(_drive(pool, _admit_path, shares))
                    print(f"round {round_number + 1}: admission {admitted[-1]['rate']:.0f} req/s, "
                          f"trivial {pinged[-1]['rate']:.0f} req/s", flush=True)
        finally:
            _drop(database_name)

    _summary("admission /api/acl/admit", admitted)
    _summary("trivial view /api/acl/ping", pinged)
    ratio = statistics.median(a["rate"] / b["rate"] for a, b in zip(admitted, pinged, strict=True))
    print(f"ratio (admission / trivial, median of the rounds): {ratio:.2f} (target >= {TARGET_RATIO})")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
