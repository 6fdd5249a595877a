"""The periodic jobs against the limits under them: the derpMap re-issue for 10,000 due users
against the same number of plain INSERTs, and the outbox with 5,000 queued e-mails to distinct
addresses against the same messages sent directly over one SMTP connection, in one run.

    .venv/bin/python benchmarks/jobs.py [--users 10000] [--emails 5000] [--keep]

SQLite in a temporary directory by default; with DATABASE_URL (or BENCH_DATABASE_URL) pointing at
PostgreSQL it creates a database of its own beside it, migrates it and drops it at the end. The
SMTP server is aiosmtpd's Sink (accepts and discards) in a process of its own on a free loopback
port.

- re-issue: `acl.services.reissue_expiring` (what beat runs hourly) for `--users` active rentals
  with three relays each whose derpMap expires in two days; baseline: the same number of derpMap
  versions (the same JSON) written by plain INSERT statements, one per row, in one transaction.
- outbox: `notifications.services.dispatch_outbox` (what beat runs every minute) for `--emails`
  queued e-mails to distinct addresses; baseline: the same messages (the outbox's rendered
  subject and bodies) sent with Django's SMTP backend over one connection, one after another.
  The two take turns over `--slices` slices of the queue (each slice made due just before its
  dispatch run), so that both see the same load on a shared machine.

It prints rows per second for each and the ratio job / baseline (target ≥ 0.5; exit status 1
below it), and the re-issue's statement count.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SERVERS = 20
RELAYS_PER_USER = 3
BATCH = 5000
TARGET = 0.5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_urls() -> tuple[str, str, str] | None:
    """(maintenance URL, this run's database URL, its name), or None to run on SQLite."""
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not base or not urlparse(base).scheme.startswith("postgres"):
        return None
    parsed, name = urlparse(base), f"bench_jobs_{os.getpid()}"
    return (urlunparse(parsed._replace(path="/postgres")),
            urlunparse(parsed._replace(path=f"/{name}")), name)


def _admin_sql(maintenance_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(statement)


def _start_smtp(port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                               "-l", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    sys.exit("the aiosmtpd server did not start")


def _configure(work: Path, database_url: str, smtp_port: int) -> None:
    os.environ.update({
        "DERPMGR_ENV": "embedded",
        "DERPMGR_DATA_DIR": str(work / "data"),
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "memory://",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SECRET_KEY": "benchmark-only-" + "x" * 40,
        "DJANGO_SETTINGS_MODULE": "derpmgr.settings",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from apps.notifications import services as notifications

    notifications._kick_dispatcher = lambda: None  # hints to the broker: not measured


def _measured(work) -> tuple[float, int, object]:
    from benchmarks.support.measure import measured  # after sys.path and Django are set up

    return measured(work)


# --- Re-issue ----------------------------------------------------------------------------------

def seed_due_users(count: int) -> None:
    """`count` customers renting three relays each, whose derpMap ends in two days."""
    from django.utils import timezone

    from apps.accounts.models import RentalState, Role, User
    from apps.acl.models import AclConfig
    from apps.containers.models import DerpInstance, InstanceStatus
    from apps.servers.models import Server

    now = timezone.now()
    servers = []
    for n in range(SERVERS):
        server = Server(name=f"bench-{n}", public_ip=f"198.51.100.{n + 1}", location=f"City {n}",
                        ssh_host=f"198.51.100.{n + 1}", ssh_host_key="ssh-ed25519 AAAA",
                        cert_fingerprint=f"{n:064x}", port_range_start=20000,
                        port_range_end=39999, max_containers=100000)
        server.set_ssh_secret("unused")
        servers.append(server)
    servers = Server.objects.bulk_create(servers)
    users = User.objects.bulk_create(
        [User(username=f"c{n}", email=f"c{n}@example.com", role=Role.USER, password="!",
              email_verified=True, language="en", rental_state=RentalState.ACTIVE,
              rental_expiry=now + timedelta(days=20)) for n in range(count)], batch_size=BATCH)
    DerpInstance.objects.bulk_create(
        [DerpInstance(user=user, server=servers[(n + k) % SERVERS], port=20000 + n,
                      status=InstanceStatus.RUNNING)
         for n, user in enumerate(users) for k in range(RELAYS_PER_USER)], batch_size=BATCH)
    AclConfig.objects.bulk_create(
        [AclConfig(user=user, version=1, derp_map={"Regions": {}}, reason="test",
                   issued_at=now - timedelta(days=30), expires_at=now + timedelta(days=2))
         for user in users], batch_size=BATCH)


def plain_inserts(count: int) -> int:
    """The baseline: `count` derpMap versions like the job's, one INSERT each, one transaction."""
    import json

    from django.db import connection, transaction
    from django.utils import timezone

    from apps.acl.models import AclConfig

    sample = AclConfig.objects.filter(reason="renewed").order_by("pk").first()
    user_ids = list(AclConfig.objects.filter(reason="renewed").values_list("user_id", flat=True))
    table, now = AclConfig._meta.db_table, timezone.now()
    statement = (f"INSERT INTO {table} (user_id, version, derp_map, issued_at, expires_at, reason) "
                 "VALUES (%s, %s, %s, %s, %s, %s)")
    body = json.dumps(sample.derp_map)
    with transaction.atomic(), connection.cursor() as cursor:
        for n in range(count):
            cursor.execute(statement, [user_ids[n % len(user_ids)], 1_000_000 + n, body, now,
                                       now + timedelta(days=32), "plain"])
    return count


def bench_reissue(users: int) -> tuple[float, float]:
    from apps.acl import services
    from apps.acl.models import AclConfig

    started = time.perf_counter()
    seed_due_users(users)
    print(f"seeded {users:,} due users with {users * RELAYS_PER_USER:,} relays in "
          f"{time.perf_counter() - started:.1f} s")
    seconds, statements, issued = _measured(services.reissue_expiring)
    assert issued == users, f"{issued} re-issued of {users}"
    again = _measured(services.reissue_expiring)
    base_seconds, _statements, _rows = _measured(lambda: plain_inserts(users))
    AclConfig.objects.filter(reason="plain").delete()
    job, base = issued / seconds, users / base_seconds
    print(f"re-issue:  {issued:,} versions in {seconds:.2f} s = {job:,.0f} rows/s, {statements} "
          f"statements ({statements / users:.3f} per user); a second run: {again[2]} issued, "
          f"{again[0]:.2f} s, {again[1]} statements")
    print(f"  baseline: {users:,} plain INSERTs in {base_seconds:.2f} s = {base:,.0f} rows/s"
          f"   ratio {job / base:.2f}")
    return job, base


# --- Outbox ------------------------------------------------------------------------------------

def queue_emails(count: int) -> None:
    from apps.notifications import services

    for n in range(count):
        services.send_email(to=f"person{n}@example.com", template="admin-message", language="en",
                            context={"subject": f"Notice {n}", "message": "Your relays are fine.",
                                     "user": {"username": f"person{n}"}})


def direct_sends(mails) -> float:
    """The baseline: these outbox rows' messages sent with Django's SMTP backend over one
    connection; the seconds it took."""
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives, get_connection

    messages = [(m.to, m.subject, m.body_text, m.body_html, m.message_id) for m in mails]
    connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
    started, sent = time.perf_counter(), 0
    connection.open()
    try:
        for to, subject, text, html, message_id in messages:
            message = EmailMultiAlternatives(subject=subject, body=text, to=[to],
                                             from_email=settings.DEFAULT_FROM_EMAIL,
                                             headers={"Message-ID": message_id},
                                             connection=connection)
            message.attach_alternative(html, "text/html")
            sent += message.send()
    finally:
        connection.close()
    assert sent == len(messages), f"{sent} of {len(messages)} sent directly"
    return time.perf_counter() - started


def bench_outbox(emails: int, slices: int) -> tuple[float, float]:
    """Baseline and job in turns, a slice of the queue at a time (the slice made due just before
    its dispatch run), so that both see the same load on a shared machine."""
    from django.conf import settings
    from django.utils import timezone

    from apps.notifications import services
    from apps.notifications.models import EmailStatus, OutboundEmail

    started = time.perf_counter()
    queue_emails(emails)
    print(f"queued {emails:,} e-mails to distinct addresses in {time.perf_counter() - started:.1f} s")
    OutboundEmail.objects.update(next_attempt_at=timezone.now() + timedelta(days=1))
    rows = list(OutboundEmail.objects.order_by("pk"))
    size = -(-emails // slices)
    base_seconds = seconds = statements = 0
    for start in range(0, emails, size):
        part = rows[start:start + size]
        base_seconds += direct_sends(part)
        OutboundEmail.objects.filter(pk__in=[m.pk for m in part]).update(
            next_attempt_at=timezone.now())
        elapsed, queries, report = _measured(services.dispatch_outbox)
        assert report.sent == len(part), f"{report} for {len(part)} due"
        seconds, statements = seconds + elapsed, statements + queries
    sent = OutboundEmail.objects.filter(status=EmailStatus.SENT).count()
    assert sent == emails, f"{sent} rows sent of {emails}"
    job, base = emails / seconds, emails / base_seconds
    print(f"outbox:    {emails:,} e-mails in {seconds:.2f} s = {job:,.0f} rows/s, {slices} runs "
          f"(one per slice), {statements} statements, batches of {settings.EMAIL_BATCH_SIZE}")
    print(f"  baseline: {emails:,} direct SMTP sends in {base_seconds:.2f} s = {base:,.0f} sends/s"
          f"   ratio {job / base:.2f}")
    return job, base


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--emails", type=int, default=5_000)
    parser.add_argument("--slices", type=int, default=5,
                        help="baseline and outbox take turns over this many slices of the queue")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    args = parser.parse_args()
    postgres = _postgres_urls()
    smtp_port = _free_port()
    smtp = _start_smtp(smtp_port)
    if postgres:
        _admin_sql(postgres[0], f'CREATE DATABASE "{postgres[2]}"')
    try:
        with tempfile.TemporaryDirectory(prefix="bench-jobs-") as work:
            url = postgres[1] if postgres else f"sqlite:///{work}/bench.sqlite3"
            _configure(Path(work), url, smtp_port)
            return _run(args)
    finally:
        smtp.terminate()
        smtp.wait(timeout=10)
        if postgres:
            from django.db import connections

            connections.close_all()
            if not args.keep:
                _admin_sql(postgres[0], f'DROP DATABASE IF EXISTS "{postgres[2]}"')


def _run(args) -> int:
    from django.db import connection

    print(f"{connection.vendor} {connection.Database.__name__}; aiosmtpd Sink on loopback; "
          f"{os.cpu_count()} CPUs")
    ratios = {}
    job, base = bench_reissue(args.users)
    ratios["re-issue"] = job / base
    job, base = bench_outbox(args.emails, args.slices)
    ratios["outbox"] = job / base
    below = [name for name, ratio in ratios.items() if ratio < TARGET]
    print("ratios: " + ", ".join(f"{name} {ratio:.2f}" for name, ratio in ratios.items())
          + f" (target ≥ {TARGET})" + (f"; BELOW TARGET: {', '.join(below)}" if below else ""))
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
