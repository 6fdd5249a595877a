"""The list APIs with many rows against a trivial JSON view, under gunicorn, in the same run.

    .venv/bin/python benchmarks/list_apis.py [--rows 10000] [--requests 2000] [--seconds 3]
                                             [--clients 4] [--workers 4]

Builds a throwaway database (SQLite in a temporary directory; with DATABASE_URL set, a new
PostgreSQL database beside the one it names, dropped at the end) and fills, with bulk_create,
the table each list reads: `--rows` servers, relays (one per server, 1,000 customers), activation
codes of one distributor (every other one activated) and audit events. Then:

  queries: through django.test.Client in this process, each route called as the caller it is
      for (a super admin's API token; the distributor's for its codes), first with a tenth of
      the rows in the tables and again with all of them: the SQL statements of one request
      (after one warm-up call), the rows it returns, its size and its time (median of three
      calls, or fewer once they took 2 s). A count that grows with the rows is an N+1;
  load: gunicorn on a free loopback port, `--clients` processes each on one keep-alive
      connection, rounds of POST /api/acl/ping (a view that does nothing: the baseline) then
      each list, alternating. Each route gets `--requests` per round, or what its clients
      begin within `--seconds` (at least one each) when that is fewer: a route that answers
      every row in one response does not finish thousands.

Prints per route: requests per second, p50 and p99 (medians of the rounds), the median of the
rounds' rate ratios to the trivial view, the response size, and one call's time and queries
at both sizes. The machine's other load shows in the numbers: run it on a quiet machine.
REDIS_URL set: the cache is Redis, as in production.
"""

import argparse
import ipaddress
import json
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

CUSTOMERS = 1000
FIRST_IP = ipaddress.IPv4Address("198.18.0.1")  # 198.18.0.0/15: benchmarking addresses
# A real Ed25519 public key, so that each server's fingerprint is computed as in production.
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

# (name, method, path, caller): the caller is whose token the requests carry.
ROUTES = [
    ("trivial view", "POST", "/api/acl/ping", "superadmin"),
    ("server list", "GET", "/api/server/list", "superadmin"),
    ("container list", "GET", "/api/container/list", "superadmin"),
    ("distributor serials", "GET", "/api/distributor/serials", "distributor"),
    ("system log", "GET", "/api/logs/system", "superadmin"),
]


# --- The database ------------------------------------------------------------------------------

def _people() -> dict:
    """The super admin, the distributor and the customers, and an API token for each caller."""
    from apps.accounts.models import ApiToken, RentalState, Role, User

    people = {}
    for role in (Role.SUPERADMIN, Role.DISTRIBUTOR):
        user = User(username=f"bench-{role}", email=f"bench-{role}@example.com", role=role)
        user.set_unusable_password()
        user.save()  # not bulk: save() gives the role its flags and group
        people[str(role)] = user
    people["tokens"] = {str(role): ApiToken.issue(people[str(role)])[1]
                        for role in (Role.SUPERADMIN, Role.DISTRIBUTOR)}
    people["customers"] = User.objects.bulk_create([
        User(username=f"customer{n}", email=f"customer{n}@example.com", role=Role.USER,
             rental_state=RentalState.ACTIVE, password="!") for n in range(CUSTOMERS)])
    return people


def _seed(people: dict, start: int, stop: int) -> None:
    """Rows start … stop-1 of each listed table."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.audit.models import AuditEvent
    from apps.billing.models import Plan
    from apps.containers.models import DerpInstance, InstanceStatus
    from apps.distribution import codes
    from apps.distribution.models import ActivationCode, CodeStatus
    from apps.servers.models import Server

    now = timezone.now()
    numbers = range(start, stop)
    secret = Server()
    secret.set_ssh_secret("not a real key")  # encrypted once, the same ciphertext on every row
    servers = Server.objects.bulk_create([
        Server(name=f"bench-{n}", public_ip=str(FIRST_IP + n), ssh_host=str(FIRST_IP + n),
               location="Benchmark", region="bench", ssh_host_key=HOST_KEY,
               ssh_secret_encrypted=secret.ssh_secret_encrypted, cert_fingerprint=f"{n:064x}",
               port_range_start=30000, port_range_end=30999,
               monthly_quota_bytes=(n % 2) * 10**12, traffic_month_bytes=n * 10**6)
        for n in numbers], batch_size=1000)
    customers = people["customers"]
    DerpInstance.objects.bulk_create([
        DerpInstance(user=customers[n % CUSTOMERS], server=server, port=30000,
                     status=InstanceStatus.RUNNING, container_name=f"derp-{n}", started_at=now)
        for n, server in zip(numbers, servers, strict=True)], batch_size=1000)
    plan = Plan.objects.order_by("pk").first()
    ActivationCode.objects.bulk_create([
        ActivationCode(code=codes.generate(), plan=plan, created_by=people["distributor"],
                       paid=True, expires_at=now + timedelta(days=90),
                       **({"status": CodeStatus.USED, "user": customers[n % CUSTOMERS], "used_at": now}
                          if n % 2 else {}))
        for n in numbers], batch_size=1000)
    AuditEvent.objects.bulk_create([
        AuditEvent(actor=people["superadmin"], actor_label=people["superadmin"].email,
                   action="server.checked", target_type="servers.server", target_id=str(n),
                   target_label=f"bench-{n}", ip="203.0.113.9", details={"round": n},
                   created_at=now - timedelta(seconds=n))
        for n in numbers], batch_size=1000)


def _queries(tokens: dict[str, str]) -> dict[str, dict]:
    """Per route, in this process (no HTTP), after one warm-up call: the statements one request
    runs, the rows it answers, its size and its time."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    found = {}
    for name, method, path, caller in ROUTES:
        client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {tokens[caller]}")
        call = client.post if method == "POST" else client.get
        call(path)
        with CaptureQueriesContext(connection) as captured:
            response = call(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.content[:200]!r}")
        body = json.loads(response.content)
        listed = next((v for v in body.values() if isinstance(v, list)), None)
        found[name] = {"queries": len(captured), "bytes": len(response.content),
                       "seconds": _call_time(call, path),
                       "rows": len(listed) if listed is not None else 0}
    return found


def _call_time(call, path: str) -> float:
    """The median of three calls' seconds (of fewer, once they have taken two seconds)."""
    times = []
    while len(times) < 3 and sum(times) < 2:
        started = time.perf_counter()
        call(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _build(env: dict[str, str], rows: int) -> tuple[dict[str, str], list[dict[str, dict]]]:
    """Migrate, fill a tenth of the rows, count queries, fill the rest, count again."""
    import os

    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    people = _people()
    small = max(1, rows // 10)
    _seed(people, 0, small)
    counted = [_queries(people["tokens"])]
    _seed(people, small, rows)
    counted.append(_queries(people["tokens"]))
    from django.db import connections

    connections.close_all()
    return people["tokens"], counted


# --- The load ----------------------------------------------------------------------------------

_connection = None


def _connect(port: int) -> None:
    """Pool initializer: this process's one keep-alive connection."""
    import http.client

    global _connection
    _connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)


def _client(args) -> tuple[list[float], list[int]]:
    """Up to `count` requests on this process's connection, none begun after `seconds` but at
    least one; each one's seconds and size. Every answer must be 200 with the expected start."""
    method, path, token, count, seconds = args
    headers = {"Authorization": f"Bearer {token}"}
    expected = b'{"Allow"' if path == "/api/acl/ping" else b'{"success":true'
    latencies, sizes = [], []
    deadline = time.perf_counter() + seconds
    while len(latencies) < count and (not latencies or time.perf_counter() < deadline):
        started = time.perf_counter()
        _connection.request(method, path, headers=headers)
        response = _connection.getresponse()
        answer = response.read()
        latencies.append(time.perf_counter() - started)
        sizes.append(len(answer))
        if response.status != 200 or not answer.startswith(expected):
            raise RuntimeError(f"{path}: unexpected answer {response.status} {answer[:100]!r}")
    return latencies, sizes


def _drive(pool, clients: int, method: str, path: str, token: str, count: int, seconds: float) -> dict:
    started = time.perf_counter()
    share = max(1, count // clients)
    per_client = pool.map(_client, [(method, path, token, share, seconds)] * clients, chunksize=1)
    elapsed = time.perf_counter() - started
    latencies = sorted(value for client, _sizes in per_client for value in client)
    sizes = [size for _latencies, client in per_client for size in client]
    return {"rate": len(latencies) / elapsed, "p50": latencies[len(latencies) // 2],
            "p99": latencies[int(len(latencies) * 0.99)], "n": len(latencies),
            "bytes": statistics.median(sizes)}


def _report(rounds: list[dict[str, dict]], counted: list[dict[str, dict]], sizes: tuple[int, int]) -> None:
    small, large = counted
    print(f"\n{'route':<26} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'n/round':>7} "
          f"{'rows':>6} {'bytes':>10}   one call ms / queries at {sizes[0]:,} and {sizes[1]:,} rows")
    for name, _method, path, _caller in ROUTES:
        middle = {key: statistics.median(r[name][key] for r in rounds)
                  for key in ("rate", "p50", "p99", "n", "bytes")}
        ratio = statistics.median(r[name]["rate"] / r["trivial view"]["rate"] for r in rounds)
        print(f"{path:<26} {middle['rate']:8.1f} {middle['p50'] * 1000:8.1f} "
              f"{middle['p99'] * 1000:8.1f} {ratio:6.3f} {middle['n']:7.0f} {large[name]['rows']:6} "
              f"{middle['bytes']:10,.0f}   {small[name]['seconds'] * 1000:.1f} / "
              f"{large[name]['seconds'] * 1000:.1f} ms, {small[name]['queries']} / "
              f"{large[name]['queries']} queries")
    grown = [name for name in small if small[name]["rows"] != large[name]["rows"]]
    if grown:
        print("answered every row (unpaginated): " + ", ".join(
            f"{name} ({small[name]['rows']:,} → {large[name]['rows']:,} rows, "
            f"{small[name]['bytes']:,} → {large[name]['bytes']:,} bytes)" for name in grown))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="in each listed table")
    parser.add_argument("--requests", type=int, default=2000, help="per round and route, at most")
    parser.add_argument("--seconds", type=float, default=3.0, help="per round and route, at most")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="gunicorn threads per worker")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="derpmgr-lists-") as tmp:
        work = Path(tmp)
        database_url, database_name = _database_url(work)
        try:
            env = _environment(work, database_url)
            print(f"building the database ({args.rows:,} rows a table) and counting queries …", flush=True)
            started = time.perf_counter()
            tokens, counted = _build(env, args.rows)
            print(f"built in {time.perf_counter() - started:.0f} s; gunicorn {args.workers} workers × "
                  f"{args.threads} threads; {args.clients} clients; database "
                  f"{'PostgreSQL' if database_name else 'SQLite'}; cache "
                  f"{'Redis' if env.get('REDIS_URL') else 'per-process memory'}", flush=True)
            port = free_port()
            context = multiprocessing.get_context("spawn")
            rounds = []
            with serve(bind="127.0.0.1", port=port, env=env, workers=args.workers,
                       threads=args.threads, log=work / "gunicorn.log", keep_alive=600), \
                    context.Pool(args.clients, initializer=_connect, initargs=(port,)) as pool:
                for name, method, path, caller in ROUTES:
                    if counted[-1][name]["seconds"] < 1:  # a slower call hides a cold worker's cost
                        _drive(pool, args.clients, method, path, tokens[caller], args.clients, 0)
                for round_number in range(args.rounds):
                    rounds.append({name: _drive(pool, args.clients, method, path, tokens[caller],
                                                args.requests, args.seconds)
                                   for name, method, path, caller in ROUTES})
                    print(f"round {round_number + 1}: " + ", ".join(
                        f"{name} {result['rate']:.1f} req/s" for name, result in rounds[-1].items()),
                        flush=True)
        finally:
            _drop(database_name)

    _report(rounds, counted, (max(1, args.rows // 10), args.rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
