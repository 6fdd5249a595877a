"""The rental lifecycle sweep is O(due), not O(customers): 1,000 due rentals among 10,000 and
among 100,000 customers, each against a sweep with nothing due in the same run.

    .venv/bin/python benchmarks/lifecycle.py [--due 1000] [--populations 10000 100000]

PostgreSQL only (the sweep's SKIP LOCKED and partial indexes are what is measured): it creates
a database of its own next to BENCH_DATABASE_URL or DATABASE_URL (default
postgres://postgres:postgres@127.0.0.1:5432/postgres), migrates it, and drops it at the end
(--keep keeps it). Customers, rentals and relays are written with bulk_create.

The sweep is what beat runs every minute (`rentals.advance`): `advance_due` (reminders,
suspensions), then the relay work it recorded, carried out in this process as a worker would
(`operations.run_due`, each suspension stopping three relays through the in-memory fake engine,
tests/fakes.py), then `send_pending_relay_work`. Of the due rentals half get a reminder and half
are suspended. Broker hints are not measured (operations and mail are rows; the hints are
switched off). For each population it prints the time and query count of each part of the
sweep, then the same for a second sweep at once, with nothing due; the due sweep's query count
must be the same for every population (exit status 1 otherwise).
"""

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SERVERS = 20
BATCH = 5000


def _database_urls() -> tuple[str, str, str]:
    """(an URL of the server's maintenance database, this run's database URL, its name)."""
    base = (os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
            or "postgres://postgres:postgres@127.0.0.1:5432/postgres")
    parsed = urlparse(base)
    if not parsed.scheme.startswith("postgres"):
        sys.exit("benchmarks/lifecycle.py needs PostgreSQL: set BENCH_DATABASE_URL or DATABASE_URL")
    name = f"bench_lifecycle_{os.getpid()}"
    return (urlunparse(parsed._replace(path="/postgres")), urlunparse(parsed._replace(path=f"/{name}")),
            name)


def _admin_sql(maintenance_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(statement)


def _configure(work: Path, database_url: str) -> None:
    os.environ.update({
        "DERPMGR_ENV": "embedded",
        "DERPMGR_DATA_DIR": str(work / "data"),
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "memory://",
        "EMAIL_URL": "consolemail://",
        "CONTAINER_ENGINE": "tests.fakes.FakeEngine",
        "SECRET_KEY": "benchmark-only-" + "x" * 40,
        "DJANGO_SETTINGS_MODULE": "derpmgr.settings",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from apps.notifications import services as notifications
    from apps.operations import services as operations

    operations.send = lambda operation_id, **kwargs: True  # hints to the broker: not measured
    notifications._kick_dispatcher = lambda: None


class Population:
    """Customers added phase after phase; each phase adds `due` rentals due now (half for a
    reminder, half for suspension, those with three running relays) and the rest not due."""

    def __init__(self):
        from apps.servers.models import Server

        servers = []
        for n in range(SERVERS):
            server = Server(name=f"bench-{n}", public_ip=f"198.51.100.{n + 1}",
                            ssh_host=f"198.51.100.{n + 1}", ssh_host_key="ssh-ed25519 AAAA",
                            port_range_start=20000, port_range_end=29999, max_containers=10000)
            server.set_ssh_secret("unused")
            servers.append(server)
        self.servers = Server.objects.bulk_create(servers)
        self.count = 0
        self.relays = 0

    def grow_to(self, total: int, *, due: int) -> None:
        from django.contrib.auth.models import Group
        from django.utils import timezone

        from apps.accounts.models import RentalState, Role, User
        from apps.rentals.models import Rental

        now = timezone.now()
        first, self.count = self.count, total
        users, rentals, suspended = [], [], []
        for n in range(first, total):
            kind = "remind" if n - first < due // 2 else "suspend" if n - first < due else "later"
            expiry = {"remind": now + timedelta(days=2, hours=12), "suspend": now - timedelta(hours=1),
                      "later": now + timedelta(days=20)}[kind]
            users.append(User(username=f"c{n}", email=f"c{n}@example.com", role=Role.USER,
                              password="!", email_verified=True, language="en",
                              rental_state=RentalState.ACTIVE, rental_expiry=expiry))
            rentals.append((kind, expiry))
        made = []
        for start in range(0, len(users), BATCH):
            made += User.objects.bulk_create(users[start:start + BATCH])
        group = Group.objects.get(name=Role.USER)  # as User.save would have made them
        User.groups.through.objects.bulk_create(
            [User.groups.through(user_id=user.pk, group_id=group.pk) for user in made],
            batch_size=BATCH)
        rows = [Rental(user=user, period=1, period_started_at=now - timedelta(days=27),
                       next_event_at={"remind": expiry - timedelta(days=3), "suspend": expiry,
                                      "later": expiry - timedelta(days=7)}[kind])
                for user, (kind, expiry) in zip(made, rentals, strict=True)]
        for start in range(0, len(rows), BATCH):
            Rental.objects.bulk_create(rows[start:start + BATCH])
        suspended = [user for user, (kind, _e) in zip(made, rentals, strict=True) if kind == "suspend"]
        self._relays_for(suspended)

    def _relays_for(self, users) -> None:
        """Three running relays each, on three servers, with their containers in the engine."""
        from apps.containers.engine import container_name
        from apps.containers.models import DerpInstance, InstanceStatus
        from tests.fakes import engine

        relays = []
        for user in users:  # a port of its own per customer: never two on one server's port
            port = 20000 + self.relays
            for k in range(3):
                relays.append(DerpInstance(user=user, server=self.servers[(self.relays + k) % SERVERS],
                                           port=port, status=InstanceStatus.RUNNING))
            self.relays += 1
        made = DerpInstance.objects.bulk_create(relays)
        for relay in made:
            relay.container_name = container_name(relay)
        DerpInstance.objects.bulk_update(made, ["container_name"], batch_size=BATCH)
        fake = engine()
        for relay in made:
            fake.containers[(relay.server_id, relay.container_name)] = {
                "id": f"c{relay.pk}", "running": True, "instance_id": relay.pk, "port": relay.port}


def _measured(work) -> tuple[float, int, object]:
    from benchmarks.support.measure import measured  # after sys.path and Django are set up

    return measured(work)


def sweep() -> dict:
    """One beat's sweep: {part: (seconds, queries, result)}."""
    from apps.operations import services as operations
    from apps.rentals import services as rentals

    return {"advance_due": _measured(rentals.advance_due),
            "relay work": _measured(operations.run_due),
            "send_pending_relay_work": _measured(rentals.send_pending_relay_work)}


def _report(label: str, parts: dict) -> tuple[float, int]:
    seconds = sum(p[0] for p in parts.values())
    queries = sum(p[1] for p in parts.values())
    detail = ", ".join(f"{name} {p[0]:.3f} s / {p[1]} q (→ {p[2]})" for name, p in parts.items())
    print(f"  {label:<12} {seconds:8.3f} s  {queries:6d} queries   [{detail}]")
    return seconds, queries


def _check(due: int) -> None:
    from apps.accounts.models import RentalState, User
    from apps.containers.models import DerpInstance, InstanceStatus
    from apps.notifications.models import OutboundEmail

    print(f"    state: {User.objects.filter(rental_state=RentalState.SUSPENDED).count()} suspended, "
          f"{OutboundEmail.objects.filter(template='rental-reminder').count()} reminders, "
          f"{OutboundEmail.objects.filter(template='rental-suspended').count()} suspension mails, "
          f"{DerpInstance.objects.filter(status=InstanceStatus.RUNNING).count()} relays running")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--populations", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    maintenance, url, name = _database_urls()
    _admin_sql(maintenance, f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="bench-lifecycle-") as work:
            _configure(Path(work), url)
            return _run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin_sql(maintenance, f'DROP DATABASE IF EXISTS "{name}"')


def _run(args) -> int:
    from django.db import connection
    from django.utils import timezone

    from apps.rentals.models import Rental

    print(f"PostgreSQL {connection.cursor().connection.info.server_version}; {args.due} due per "
          f"population; {SERVERS} servers; suspensions stop 3 relays each on the fake engine")
    population = Population()
    due_queries = []
    for total in sorted(args.populations):
        started = time.perf_counter()
        population.grow_to(total, due=args.due)
        connection.cursor().execute("ANALYZE")
        print(f"\n{total:,} customers ({args.due:,} due), written in "
              f"{time.perf_counter() - started:.1f} s")
        plan = Rental.objects.due(timezone.now()).order_by("next_event_at").values("pk")[:500].explain()
        print(f"    the due rentals' query: {plan.splitlines()[1].strip(' ->')}")
        due_seconds, queries = _report("due sweep", sweep())
        _check(args.due)
        idle_seconds, idle_queries = _report("0-due sweep", sweep())
        print(f"    due / 0-due: {due_seconds / idle_seconds:,.0f}×; per due rental: "
              f"{1000 * due_seconds / args.due:.2f} ms, {queries / args.due:.1f} queries")
        due_queries.append((total, queries, idle_queries))
    print("\nquery counts: " + "; ".join(f"{total:,} customers: due sweep {q}, 0-due sweep {i}"
                                          for total, q, i in due_queries))
    constant = len({q for _t, q, _i in due_queries}) == 1 and len({i for *_r, i in due_queries}) == 1
    print("the sweep's query count " + ("does not grow with customers not due" if constant
                                        else "CHANGES with the number of customers"))
    return 0 if constant else 1


if __name__ == "__main__":
    sys.exit(main())
