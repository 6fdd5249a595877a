"""One full health probe round of 50 servers, some slow and some dead, against the slowest server
probed alone and against probing them one after another, in the same run.

    .venv/bin/python benchmarks/health.py [--servers 50] [--slow 3] [--delay 0.1]

Sets up its own parts: sshd "servers" on 127.0.0.x in front of one podman (the test engine), a
temporary SQLite database, and among the servers:

  - slow ones: a TCP proxy in front of their sshd that holds every chunk `--delay` seconds;
  - a hung one: a port that accepts connections and never says a word (SSH's banner timeout);
  - a refused one: a port nothing listens on.

Each server pings 127.0.0.1 (three packets, as in production). After a warm-up round (the panel
keeps its SSH connections between rounds), it measures:

  (a) one full round: apps.monitoring.health.probe_round (all servers at once, results recorded);
  (b) every server probed alone, one after another (apps.monitoring.probes.probe_server): their
      sum is the sequential time, their maximum the slowest single server.

Prints the figures and both ratios (targets: round <= 2 x slowest alone; sequential >= 10 x round).
Needs root, podman, sshd, socat, ping and the derper binary (scripts/test.sh installs them).
"""

import argparse
import asyncio
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.support import fleet_panel  # noqa: E402
from tests.fleet import infra  # noqa: E402 - no Django needed to import it

TARGET_VS_SLOWEST = 2.0
TARGET_VS_SEQUENTIAL = 10.0


def _configure(work: Path, image: str) -> None:
    fleet_panel.configure(work, image, f"sqlite:///{work / 'bench.sqlite3'}",
                          quiet=("apps.monitoring.health",))

# --- Slow and dead servers ------------------------------------------------------------------

class Network:
    """An event loop in a thread: delaying proxies and silent listeners."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers = []

    def _start(self, coroutine):
        server = asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)
        self.servers.append(server)
        return server.sockets[0].getsockname()[1]

    def delaying_proxy(self, address: str, upstream: tuple[str, int], delay: float) -> int:
        """A port on `address` forwarding to `upstream`, each chunk held `delay` seconds."""
        async def pump(reader, writer):
            try:
                while chunk := await reader.read(65536):
                    await asyncio.sleep(delay)
                    writer.write(chunk)
                    await writer.drain()
            except OSError:
                pass
            finally:
                writer.close()

        async def handle(reader, writer):
            try:
                up_reader, up_writer = await asyncio.open_connection(*upstream)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

        return self._start(asyncio.start_server(handle, address, 0))

    def silent_port(self, address: str) -> int:
        """A port that accepts and never answers (held until the client gives up)."""
        async def handle(reader, writer):
            await reader.read()  # until the client closes
            writer.close()

        return self._start(asyncio.start_server(handle, address, 0))

    def stop(self):
        async def shutdown():
            for server in self.servers:
                server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


# --- The bench ------------------------------------------------------------------------------

def make_servers(loopback: infra.LoopbackFleet, network: Network, *, count: int, slow: int,
                 delay: float) -> dict[str, list]:
    """Server rows pinned to their sshd's host key: `slow` behind delaying proxies, one hung,
    one refused, the rest direct."""
    from apps.monitoring.models import MonitoringSettings
    from apps.servers.models import Server

    config = MonitoringSettings.current()
    config.probe_targets = "127.0.0.1"
    config.save()
    kinds: dict[str, list] = {"normal": [], "slow": [], "hung": [], "refused": []}
    for n in range(count):
        kind = ("hung" if n == 0 else "refused" if n == 1 else
                "slow" if n < 2 + slow else "normal")
        sshd = loopback.ssh_server() if kind in ("normal", "slow") else None
        address = sshd.address if sshd else f"127.0.1.{n + 1}"
        if kind == "slow":
            host, port = address, network.delaying_proxy(address, (address, sshd.port), delay)
        elif kind == "hung":
            host, port = address, network.silent_port(address)
        elif kind == "refused":
            host, port = address, infra.free_port(address)
        else:
            host, port = address, sshd.port
        host_key = sshd.host_key.public_line if sshd else loopback.client_key.public_line
        server = Server(name=f"bench-{n:02d}-{kind}", public_ip=address, ssh_host=host,
                        ssh_port=port, ssh_host_key=" ".join(host_key.split()[:2]),
                        port_range_start=30000 + n * 20, port_range_end=30019 + n * 20)
        server.set_ssh_secret(loopback.client_key.private_openssh)
        server.save()
        kinds[kind].append(server)
    return kinds


def full_round() -> tuple[float, object]:
    from apps.monitoring import health

    started = time.perf_counter()
    report = health.probe_round()
    return time.perf_counter() - started, report


def one_by_one(servers) -> dict[str, float]:
    from apps.monitoring import probes

    times = {}
    for server in servers:
        started = time.perf_counter()
        probes.probe_server(server, ["127.0.0.1"])
        times[server.name] = time.perf_counter() - started
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--slow", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.1,
                        help="seconds the proxy holds each chunk in front of a slow server")
    args = parser.parse_args()
    missing = infra.missing_parts() + ([] if shutil.which("ping") else ["ping"])
    if missing:
        print("missing: " + ", ".join(missing), file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="derpmgr-bench-") as tmp:
        work = Path(tmp)
        podman = infra.PodmanService(work)
        loopback = infra.LoopbackFleet(work)
        network = Network()
        try:
            podman.ensure()
            _configure(work, infra.ensure_relay_image())
            from apps.servers.models import Server

            kinds = make_servers(loopback, network, count=args.servers, slow=args.slow,
                                 delay=args.delay)
            full_round()  # warm-up: the panel keeps its SSH connections between rounds
            round_seconds, report = full_round()
            failed = sorted(s.name for s, probe in report.servers if not probe.ok)
            alone = one_by_one(list(Server.objects.order_by("pk")))
        finally:
            from apps.servers import drivers

            drivers.close_all()
            network.stop()
            loopback.stop()
            podman.stop()

    sequential, slowest = sum(alone.values()), max(alone.values())
    slowest_name = max(alone, key=alone.get)
    print(f"servers: {args.servers} ({len(kinds['normal'])} normal, {len(kinds['slow'])} slow "
          f"behind a {args.delay:g} s/chunk proxy, 1 hung, 1 refused); failed in the round: "
          f"{', '.join(failed) or 'none'}")
    for kind, servers in kinds.items():
        times = [alone[s.name] for s in servers]
        print(f"  {kind:8} alone: {min(times):.3f} .. {max(times):.3f} s")
    print(f"one full round (all at once, recorded): {round_seconds:.3f} s")
    print(f"slowest server alone ({slowest_name}):  {slowest:.3f} s")
    print(f"one after another:                      {sequential:.3f} s")
    vs_slowest, vs_sequential = round_seconds / slowest, sequential / round_seconds
    print(f"round / slowest alone: {vs_slowest:.2f} (target <= {TARGET_VS_SLOWEST:g})")
    print(f"sequential / round:    {vs_sequential:.1f} (target >= {TARGET_VS_SEQUENTIAL:g})")
    return 0 if vs_slowest <= TARGET_VS_SLOWEST and vs_sequential >= TARGET_VS_SEQUENTIAL else 1


if __name__ == "__main__":
    sys.exit(main())
