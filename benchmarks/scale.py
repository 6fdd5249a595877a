"""Every list page, list API, customer page and portal page at the scale of a real business.

    .venv/bin/python benchmarks/scale.py [--fraction F] [--calls 5] [--only SUBSTRING]

Builds a throwaway database (with DATABASE_URL set, a new PostgreSQL database beside the one it
names, dropped at the end; else SQLite in a temporary directory) and seeds the data set of
benchmarks/support/scale_data.py with bulk_create: on PostgreSQL 10,000 customers, 500 servers,
30,000 relays, 50,000 codes, 100,000 audit events, 20,000 orders (and 20,000 devices, 10,000
operations); on SQLite a tenth of it (`--fraction` overrides). It seeds a tenth of that first,
runs ANALYZE and measures every route, then seeds the rest, runs ANALYZE and measures again.

Each route is called through django.test.Client in this process (no HTTP server: the figures
are the view's own) as the persona it is for — a signed-in browser session for pages (staff past
the OTP step), an API token for /api/ — once to warm up, once counting its SQL statements, then
`--calls` times for the median. It prints, per route, the median time and the query count at
both sizes: a count that grows with the rows is an N+1, a time that grows with them a scan.
Targets: under 150 ms median at the full size, and the same count at both sizes.

The staff's pages (/ops/…, the admin, finance) come from benchmarks/support/scale_routes_staff.py
when it exists: a module with `ROUTES`, a list of (path, persona) like scale_routes.ROUTES, where
the persona is superadmin, admin, distributor or customer (see scale_data.World).
"""

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.admission import _database_url, _drop, _environment  # noqa: E402 - after sys.path
from benchmarks.support import scale_data  # noqa: E402
from benchmarks.support.scale_routes import ROUTES  # noqa: E402

TARGET_SECONDS = 0.150



def staff_routes() -> list[tuple[str, str]]:
    """Lane B's staff routes, when its module is there."""
    path = REPO / "benchmarks" / "support" / "scale_routes_staff.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location("scale_routes_staff", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.ROUTES)


# --- The callers -------------------------------------------------------------------------------

def _clients(world) -> dict[tuple[str, bool], object]:
    """(persona, api?) → a client: a browser session (staff past the OTP step) or a token."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    clients = {}
    for name in ("superadmin", "admin", "distributor", "customer"):
        user = world.persona(name)
        browser = Client(HTTP_HOST="127.0.0.1", headers={"accept-language": "en"})
        browser.force_login(user)
        if user.mfa_required:
            device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
            session = browser.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        clients[name, False] = browser
        clients[name, True] = Client(HTTP_HOST="127.0.0.1", headers={"accept-language": "en"},
                                     HTTP_AUTHORIZATION=f"Bearer {world.tokens[name]}")
    return clients


def _count(statements: list, execute, sql, params, many, context):
    statements.append(sql)
    return execute(sql, params, many, context)


def _measure(clients, routes, calls: int) -> dict[tuple[str, str], dict]:
    """Per route: its status, its statements (after a warm-up call), the median of `calls` times."""
    from django.db import connection

    found = {}
    for path, persona in routes:
        client = clients[persona, path.startswith("/api/")]
        client.get(path)
        statements = []
        with connection.execute_wrapper(partial(_count, statements)):
            response = client.get(path)
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            client.get(path)
            times.append(time.perf_counter() - started)
            if sum(times) > 10:  # a route that slow has said enough
                break
        found[path, persona] = {"status": response.status_code, "queries": len(statements),
                                "seconds": statistics.median(times), "bytes": len(response.content)}
    return found


# --- The run -----------------------------------------------------------------------------------

def _build_and_measure(env: dict[str, str], full, routes, calls: int) -> list[dict]:
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    world = scale_data.people()
    clients = _clients(world)
    measured = []
    for sizes in (full.scaled(0.1), full):
        started = time.perf_counter()
        scale_data.grow(world, sizes)
        scale_data.analyze()
        print(f"seeded {sizes.describe()} in {time.perf_counter() - started:.0f} s", flush=True)
        measured.append(_measure(clients, routes, calls))
    return measured


def _report(routes, measured: list[dict], sizes: tuple) -> int:
    small, large = measured
    print(f"\n{'route':<38} {'persona':<12} {'status':>6}  {'median ms':>19}  {'queries':>9}   "
          f"(at {sizes[0].customers:,} and {sizes[1].customers:,} customers)")
    misses = 0
    for path, persona in routes:
        a, b = small[path, persona], large[path, persona]
        flags = []
        if b["seconds"] > TARGET_SECONDS:
            flags.append("SLOW")
        if b["queries"] > a["queries"]:
            flags.append("QUERIES GROW")
        if b["status"] >= 400:
            flags.append(f"HTTP {b['status']}")
        misses += bool(flags)
        print(f"{path:<38} {persona:<12} {b['status']:>6}  {a['seconds'] * 1000:8.1f} → "
              f"{b['seconds'] * 1000:8.1f}  {a['queries']:>3} → {b['queries']:<3}  {' '.join(flags)}")
    print(f"\n{len(routes) - misses} of {len(routes)} routes under {TARGET_SECONDS * 1000:.0f} ms "
          f"with a query count that does not grow")
    return misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fraction", type=float, default=None,
                        help="of the issue's data set (default: 1 on PostgreSQL, 0.1 on SQLite)")
    parser.add_argument("--calls", type=int, default=5, help="timed calls per route")
    parser.add_argument("--only", default="", help="only the routes whose path contains this")
    args = parser.parse_args()

    routes = [route for route in ROUTES + staff_routes() if args.only in route[0]]
    with tempfile.TemporaryDirectory(prefix="derpmgr-scale-") as tmp:
        work = Path(tmp)
        database_url, database_name = _database_url(work)
        try:
            env = _environment(work, database_url)
            (work / "data" / "static").mkdir(parents=True)  # WhiteNoise warns on each request else
            fraction = args.fraction or (1.0 if database_name else 0.1)
            full = scale_data.FULL.scaled(fraction)
            print(f"database {'PostgreSQL' if database_name else 'SQLite'}; {len(routes)} routes; "
                  f"the full size: {full.describe()}", flush=True)
            measured = _build_and_measure(env, full, routes, args.calls)
            from django.db import connections

            connections.close_all()
        finally:
            _drop(database_name)
    misses = _report(routes, measured, (full.scaled(0.1), full))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
