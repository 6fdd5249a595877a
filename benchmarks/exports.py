"""The distributor's 20,000-code CSV: how long a web request is held, before and after.

    .venv/bin/python benchmarks/exports.py [--codes 20000] [--rounds 3]

Builds a throwaway database (SQLite in a temporary directory; with DATABASE_URL set, a new
PostgreSQL database beside the one it names, dropped at the end) with one distributor owning
`--codes` codes (half of them activated by customers), then per round, in this process through
django.test.Client:

- **request**: `POST /portal/codes/export/` — what the web worker does now (check the filters,
  record the operation and its audit event, answer 302 to the export's page);
- **worker**: the export operation executed as a Celery worker would (read the codes in chunks,
  write the CSV file) — the work the old `GET /portal/codes.csv` streamed while holding the web
  worker;
- **poll** and **download**: the export's page once it is ready, and the file served from disk.

It prints the medians and the share of the old hold that is left in the web request (target:
the request under 150 ms whatever the number of codes; the download is a file sent from disk).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.admission import _database_url, _drop, _environment  # noqa: E402 - after sys.path


def _seed(codes: int):
    from datetime import timedelta

    from django.utils import timezone

    from apps.accounts.models import Role, User
    from apps.billing.models import Plan
    from apps.distribution import codes as code_format
    from apps.distribution.models import ActivationCode, CodeStatus, DistributorProfile, DistributorTier

    distributor = User(username="bench-dealer", email="dealer@example.com", role=Role.DISTRIBUTOR,
                       email_verified=True, language="en")
    distributor.set_unusable_password()
    distributor.save()
    owner = User(username="bench-admin", email="admin@example.com", role=Role.ADMIN)
    owner.set_unusable_password()
    owner.save()
    DistributorProfile.objects.create(user=distributor, owner=owner,
                                      tier=DistributorTier.objects.order_by("rank").first())
    customers = User.objects.bulk_create([
        User(username=f"bench-{n}", email=f"bench-{n}@example.com", role=Role.USER)
        for n in range(max(1, codes // 10))])
    plans = list(Plan.objects.order_by("pk"))
    now = timezone.now()
    rows = []
    for n in range(codes):
        code = ActivationCode(code=code_format.generate(), plan=plans[n % len(plans)], paid=True,
                              created_by=distributor, created_at=now - timedelta(minutes=n),
                              expires_at=now + timedelta(days=90))
        if n % 2 == 0:
            code.status, code.used_at, code.user = CodeStatus.USED, now, customers[n % len(customers)]
        rows.append(code)
    ActivationCode.objects.bulk_create(rows, batch_size=2000)
    return distributor


def _run(codes: int, rounds: int) -> dict[str, list[float]]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from apps.operations import services as operations
    from apps.operations.models import Operation

    call_command("migrate", verbosity=0)
    distributor = _seed(codes)
    client = Client(HTTP_HOST="127.0.0.1", headers={"accept-language": "en"})
    client.force_login(distributor)
    if distributor.mfa_required:
        device = TOTPDevice.objects.create(user=distributor, name="phone", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    times: dict[str, list[float]] = {"request": [], "worker": [], "poll": [], "download": []}
    for round_number in range(rounds + 1):  # the first round warms up (imports, templates)
        if round_number == 1:
            times = {name: [] for name in times}
        started = time.perf_counter()
        response = client.post("/portal/codes/export/")
        times["request"].append(time.perf_counter() - started)
        assert response.status_code == 302, response.status_code
        operation = Operation.objects.order_by("-pk").first()
        started = time.perf_counter()
        if os.environ.get("BENCH_PROFILE") and round_number == 1:
            import cProfile
            import pstats

            with cProfile.Profile() as profile:
                operations.execute(operation.pk)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        else:
            operations.execute(operation.pk)
        times["worker"].append(time.perf_counter() - started)
        operation.refresh_from_db()
        assert operation.result.get("rows") == codes, (operation.state, operation.error)
        started = time.perf_counter()
        assert client.get(f"/portal/exports/{operation.pk}/").status_code == 200
        times["poll"].append(time.perf_counter() - started)
        started = time.perf_counter()
        response = client.get(f"/portal/exports/{operation.pk}/download/")
        size = sum(len(chunk) for chunk in response.streaming_content)
        times["download"].append(time.perf_counter() - started)
        assert response.status_code == 200 and size > codes * 50
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codes", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="derpmgr-exports-") as tmp:
        work = Path(tmp)
        database_url, database_name = _database_url(work)
        try:
            os.environ.update(_environment(work, database_url))
            (work / "data" / "static").mkdir(parents=True)
            times = _run(args.codes, args.rounds)
            from django.db import connections

            connections.close_all()
        finally:
            _drop(database_name)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"database {'PostgreSQL' if database_name else 'SQLite'}; {args.codes:,} codes; "
          f"median of {args.rounds} rounds")
    for name, seconds in medians.items():
        print(f"  {name:<9} {seconds * 1000:9.1f} ms")
    share = medians["request"] / medians["worker"]
    print(f"web request / work moved to the worker: {share:.4f}; "
          f"request {medians['request'] * 1000:.0f} ms (target < 150 ms)")
    return 0 if medians["request"] < 0.150 else 1


if __name__ == "__main__":
    sys.exit(main())
