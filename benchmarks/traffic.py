"""One traffic sampling round of 50 servers × 60 relays against the slowest server sampled
alone, in the same run; the rows a relay writes per day; and drawing a 30-day chart of a
server with 60 relays.

    .venv/bin/python benchmarks/traffic.py [--servers 50] [--relays 60] [--real-servers 2]

Sets up its own parts: sshd "servers" on 127.0.0.x in front of one podman (the test engine), and
a throwaway database (SQLite in a temporary directory; with DATABASE_URL set, a new PostgreSQL
database beside the one it names, dropped at the end). What is real and what is not:

  - every server is a real sshd: its interface counters (`lo`) are read over SSH and its engine
    is asked for its relay containers through the real engine connection;
  - on `--real-servers` of them, `--relays` real relay containers (derper in dev mode, bridge
    networking) whose network counters are read with one-shot stats, as in production;
  - the other servers' relays are rows only: their counters are made up (each busy relay
    carried 1 MB since the last round) and added to what their engine answered, so that the
    round records every relay's totals and series rows as it would for a real fleet.

It measures, after a warm-up round (the panel keeps its SSH connections between rounds):

  (a) one full round: apps.traffic.sampling.sample_round (all servers at once, each recorded
      as its reading arrives);
  (b) each server with real containers, and a few without, sampled alone: the slowest is the
      baseline (target: round <= 2 x slowest alone);
  (c) rows written per relay per day (minute + hour + day rows), for a busy and an idle relay,
      from a simulated day of rounds of one server;
  (d) a 30-day chart of a server with 60 relays from the hour rows (query, sum per hour and
      apps.monitoring.charts rendering; target < 200 ms on PostgreSQL).

All servers share one podman on one machine, so the absolute times are lower bounds for
real servers; the ratios are what matters. Needs root, podman, sshd, socat and the derper
binary (scripts/test.sh installs them).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.admission import _database_url, _drop  # noqa: E402
from benchmarks.support import fleet_panel  # noqa: E402
from tests.fleet import infra  # noqa: E402 - no Django needed to import it

TARGET_VS_SLOWEST = 2.0
TARGET_CHART_MS = 200
BUSY_BYTES = 1_000_000


def _configure(work: Path, image: str, database_url: str) -> None:
    fleet_panel.configure(work, image, database_url, quiet=("apps.traffic.sampling",))

class SyntheticCounters:
    """The real engine, plus made-up counters for the relays that are rows only."""

    def __init__(self, real, made_up: dict[int, list[int]]):
        self.real = real
        self.made_up = made_up  # server id -> instance ids
        self.calls = 0

    def network_counters(self, server):
        from apps.containers.engine import Counters

        found = self.real.network_counters(server)
        self.calls += 1
        carried = self.calls * BUSY_BYTES
        for instance_id in self.made_up.get(server.pk, []):
            found[instance_id] = Counters(rx=carried, tx=carried, epoch="made-up")
        return found


def make_fleet(loopback, *, servers: int, relays: int, real_servers: int, image: str):
    """Server rows on real sshds (interface `lo`), `relays` relay rows each; real containers for
    the first `real_servers` servers. Returns (servers, made-up relay ids by server)."""
    from django.conf import settings

    from apps.containers import engine as engine_module
    from apps.containers.models import DerpInstance, InstanceStatus
    from apps.servers.models import Server
    from tests.factories import UserFactory

    customers = [UserFactory(username=f"bench-{n}") for n in range(relays)]
    docker = infra.local_docker()
    rows, made_up = [], {}
    for n in range(servers):
        sshd = loopback.ssh_server()
        server = Server(name=f"bench-{n:02d}", public_ip=sshd.address, ssh_host=sshd.address,
                        ssh_port=sshd.port, traffic_interface="lo",
                        ssh_host_key=" ".join(sshd.host_key.public_line.split()[:2]),
                        port_range_start=30000 + n * 100, port_range_end=30099 + n * 100)
        server.set_ssh_secret(loopback.client_key.private_openssh)
        server.save()
        instances = DerpInstance.objects.bulk_create([
            DerpInstance(user=customer, server=server, port=server.port_range_start + i,
                         status=InstanceStatus.RUNNING) for i, customer in enumerate(customers)])
        if n < real_servers:
            for instance in instances:
                docker.containers.run(image, ["-dev"], detach=True,
                                      name=f"bench-{os.getpid()}-{instance.pk}", labels={
                                          engine_module.LABEL_PANEL: settings.PANEL_ID,
                                          engine_module.LABEL_SERVER: str(server.pk),
                                          engine_module.LABEL_INSTANCE: str(instance.pk)})
        else:
            made_up[server.pk] = [i.pk for i in instances]
        rows.append(server)
    docker.close()
    return rows, made_up


def remove_containers() -> None:
    from django.conf import settings

    docker = infra.local_docker()
    for container in docker.containers.list(all=True, filters={
            "label": f"derpmgr.panel={settings.PANEL_ID}"}):
        container.remove(force=True)
    docker.close()


def timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def rows_per_relay_day(server, busy, idle) -> dict[str, int]:
    """A simulated day of rounds of one server (interface counters real, relay counters made
    up: `busy` carries every minute, `idle` never): the rows each wrote."""
    from apps.containers.engine import Counters
    from apps.traffic import counting, sampling
    from apps.traffic.models import RelayTraffic

    idle.refresh_from_db()
    unchanged = Counters(rx=idle.last_rx_counter, tx=idle.last_tx_counter,
                         epoch=idle.counter_epoch)

    class OneBusyRelay:
        minute = 0

        def network_counters(self, _server):
            self.minute += 1
            return {busy.pk: Counters(rx=self.minute * 1000, tx=self.minute * 500, epoch="day"),
                    idle.pk: unchanged}

    real, simulated = sampling.get_engine, OneBusyRelay()
    sampling.get_engine = lambda: simulated
    try:
        server.refresh_from_db()
        day = counting.day_start(counting.local_day(server.last_sample_at) + timedelta(days=1))
        for minute in range(24 * 60):
            sampling.sample_round(now=day + timedelta(minutes=minute), server_ids=[server.pk])
    finally:
        sampling.get_engine = real
    return {name: RelayTraffic.objects.filter(instance=relay, start__gte=day).count()
            for name, relay in (("busy", busy), ("idle", idle))}


def chart_30_days(server, relays, *, repeats: int = 5) -> tuple[float, int, int]:
    """Fill 30 days of hour rows for the server's relays, then time the chart: the hour rows
    summed per hour (received, sent) and rendered. Returns (median ms, rows read, bytes of SVG)."""
    from django.db.models import Sum
    from django.utils import timezone

    from apps.monitoring import charts
    from apps.monitoring.series import Point
    from apps.traffic.models import RelayTraffic, Resolution

    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=30)
    hours = [start + timedelta(hours=h) for h in range(30 * 24)]
    RelayTraffic.objects.bulk_create([
        RelayTraffic(instance=relay, server=server, user_id=relay.user_id,
                     resolution=Resolution.HOUR, start=hour, rx_bytes=h * 1000 + i,
                     tx_bytes=h * 900 + i, peak_bps=h)
        for i, relay in enumerate(relays) for h, hour in enumerate(hours)], batch_size=5000)

    def draw() -> str:
        sums = (RelayTraffic.objects.filter(server=server, resolution=Resolution.HOUR,
                                            start__gte=start, start__lt=end)
                .values("start").annotate(rx=Sum("rx_bytes"), tx=Sum("tx_bytes"))
                .order_by("start"))
        received, sent = [], []
        for row in sums:
            received.append(Point(row["start"], row["rx"] * 8 / 3600, 0, 0))
            sent.append(Point(row["start"], row["tx"] * 8 / 3600, 0, 0))
        return charts.line_chart([("received", received), ("sent", sent)], start=start, end=end,
                                 unit=" bit/s", title="30 days")

    draw()  # warm-up
    times = []
    for _ in range(repeats):
        seconds, svg = timed(draw)
        times.append(seconds * 1000)
    return statistics.median(times), len(relays) * len(hours), len(svg)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--relays", type=int, default=60)
    parser.add_argument("--real-servers", type=int, default=2)
    parser.add_argument("--idle-rows", action="store_true",
                        help="no made-up counters: the rows-only relays carry nothing (shows "
                             "what recording 3,000 busy relays costs the round)")
    args = parser.parse_args()
    missing = infra.missing_parts()
    if missing:
        print("missing: " + ", ".join(missing), file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="derpmgr-bench-") as tmp:
        work = Path(tmp)
        database_url, database = _database_url(work)
        podman = infra.PodmanService(work)
        loopback = infra.LoopbackFleet(work, first_address=100)
        try:
            podman.ensure()
            _configure(work, infra.ensure_relay_image(), database_url)
            from django.db import connection
            from django.utils import timezone

            from apps.containers.models import DerpInstance
            from apps.traffic import sampling
            from apps.traffic.models import RelayTraffic, Resolution

            servers, made_up = make_fleet(loopback, servers=args.servers, relays=args.relays,
                                          real_servers=args.real_servers,
                                          image=os.environ["DERP_IMAGE"])
            engine = SyntheticCounters(sampling.get_engine(), {} if args.idle_rows else made_up)
            sampling.get_engine = lambda: engine
            sampling.sample_round()  # warm-up: connections opened, first counters stored
            later = timezone.now() + timedelta(minutes=1)  # the next minute: rows of its own
            round_seconds, report = timed(lambda: sampling.sample_round(now=later))
            round_remote = report.reads_seconds
            minute_rows = (RelayTraffic.objects.filter(resolution=Resolution.MINUTE,
                                                       start__gte=later.replace(second=0,
                                                                                microsecond=0))
                           .count())
            alone_ids = [s.pk for s in servers[:args.real_servers]] + [
                s.pk for s in servers[args.real_servers:args.real_servers + 3]]
            alone = {}
            for pk in alone_ids:
                seconds, alone_report = timed(lambda pk=pk: sampling.sample_round(
                    now=later + timedelta(minutes=1), server_ids=[pk]))
                alone[pk] = (seconds, alone_report.reads_seconds)
            storage_server = servers[-1]
            busy, idle = DerpInstance.objects.filter(server=storage_server).order_by("pk")[:2]
            rows = rows_per_relay_day(storage_server, busy, idle)
            chart_ms, chart_rows, svg_bytes = chart_30_days(
                servers[0], list(DerpInstance.objects.filter(server=servers[0])))
            vendor = connection.vendor
        finally:
            from apps.servers import drivers

            drivers.close_all()
            try:
                remove_containers()
            except Exception as exc:  # reported; the rest is still cleaned up
                print(f"could not remove the benchmark's containers: {exc}", file=sys.stderr)
            loopback.stop()
            podman.stop()
            from django.db import connections

            connections.close_all()
            _drop(database)

    slowest_pk = max(alone, key=lambda pk: alone[pk][0])
    slowest = alone[slowest_pk][0]
    real_relays = args.real_servers * args.relays
    print(f"database: {vendor}")
    print(f"fleet: {args.servers} servers (real sshd each, interface counters of lo over SSH, "
          f"engine asked for its relays) x {args.relays} relays = {args.servers * args.relays} "
          f"relays; {real_relays} real relay containers on {args.real_servers} servers (one-shot "
          f"stats + inspect), the other {args.servers * args.relays - real_relays} relays rows "
          f"{'only (not running)' if args.idle_rows else 'with made-up busy counters'}; all "
          f"servers share one podman and this machine's {os.cpu_count()} CPUs")
    print(f"one full round (all at once, recorded): {round_seconds:.3f} s, the last server's "
          f"reading arrived after {round_remote:.3f} s ({report.relays} relays sampled, {minute_rows} relay "
          f"minute rows written, {len(report.failed)} servers failed)")
    for pk, (seconds, remote) in alone.items():
        kind = "real containers" if pk in {s.pk for s in servers[:args.real_servers]} else "rows only"
        print(f"  server {pk} alone ({kind}): {seconds:.3f} s (its reading after {remote:.3f} s)")
    ratio = round_seconds / slowest
    print(f"round / slowest alone: {ratio:.2f} (target <= {TARGET_VS_SLOWEST:g})")
    print(f"rows per relay per day (minute + hour + day): busy {rows['busy']}, idle {rows['idle']}")
    print(f"30-day chart, {args.relays} relays ({chart_rows} hour rows summed per hour, "
          f"{svg_bytes} bytes of SVG): {chart_ms:.1f} ms median (target < {TARGET_CHART_MS} ms"
          f"{' on PostgreSQL' if vendor != 'postgresql' else ''})")
    return 0 if ratio <= TARGET_VS_SLOWEST and chart_ms < TARGET_CHART_MS else 1


if __name__ == "__main__":
    sys.exit(main())
