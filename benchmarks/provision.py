"""Activation-to-running on three servers against three raw container starts, in the same run.

    .venv/bin/python benchmarks/provision.py [--rounds 5]

Sets up its own parts (three sshd "servers" on 127.0.0.x in front of one podman, the test relay
image, a temporary SQLite database) and measures, round after round:

  (a) activation to running: a customer activates a code (apps.distribution.services.redeem), then
      the provisioning operation it recorded, carried out in this process as a worker would
      (apps.operations.services.run_due), until the three relays are running;
  (b) baseline: three containers of the same image started over SSH in parallel with the Docker
      SDK (threads; one per server), nothing else.

Prints both medians and their ratio (target: at most 1.3). Needs root, podman, sshd, socat and
the derper binary (scripts/test.sh installs and builds them).
"""

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fleet import infra  # noqa: E402 - no Django needed to import it

TARGET_RATIO = 1.3


def _configure(work: Path, image: str) -> None:
    """The panel's settings, from the environment, before Django starts."""
    os.environ.update({
        "DERPMGR_ENV": "embedded",
        "DERPMGR_DATA_DIR": str(work / "data"),
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
        "DERP_IMAGE": image,
        "DERP_HOST_CERT_DIR": str(work / "certs"),
        "DOCKER_DIAL_COMMAND": infra.DIAL_COMMAND,
        "PANEL_ID": f"bench-{os.getpid()}",
        "EMAIL_URL": "consolemail://",
        "SECRET_KEY": "benchmark-only-" + "x" * 40,
    })
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "derpmgr.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for noisy in ("paramiko", "kombu"):  # a line per SSH connection / per queued mail
        logging.getLogger(noisy).setLevel(logging.ERROR)


class Bench:
    def __init__(self, loopback: infra.LoopbackFleet):
        from apps.accounts.models import Role
        from apps.operations import services as operations
        from tests.factories import UserFactory

        self.loopback = loopback
        self.admin = UserFactory(username="bench-admin", role=Role.SUPERADMIN)
        self.fleet = infra.Fleet(loopback, actor=self.admin)
        self.servers = self.fleet.add(3, max_containers=50)
        # The broker is not part of the measurement: the operation the activation recorded is
        # carried out in this process, as a worker would.
        operations.send = lambda operation_id, **kwargs: True
        self._users = 0

    def activation_to_running(self) -> float:
        from apps.billing.models import Plan
        from apps.containers.models import DerpInstance, InstanceStatus
        from apps.distribution.services import generate_codes, redeem
        from apps.operations import services as operations
        from tests.factories import UserFactory

        plan = Plan.objects.filter(servers_per_rental=3).first()
        (code,), _order = generate_codes(actor=self.admin, plan=plan, quantity=1)
        self._users += 1
        user = UserFactory(username=f"bench-user-{self._users}")

        started = time.perf_counter()
        redeem(user=user, raw_code=code.code)
        operations.run_due()
        elapsed = time.perf_counter() - started

        running = DerpInstance.objects.filter(user=user, status=InstanceStatus.RUNNING).count()
        if running != 3:
            raise SystemExit(f"only {running} of 3 relays are running")
        self._take_down(user)
        return elapsed

    def _take_down(self, user) -> None:
        from apps.containers.models import DerpInstance
        from apps.containers.services import remove_instance

        for instance in DerpInstance.objects.live().filter(user=user).select_related("server"):
            remove_instance(actor=self.admin, instance=instance)

    def raw_starts(self) -> float:
        """Three `containers.run` over SSH in parallel, of the very container the panel makes
        (same image, arguments, ports, labels, certificate mount, restart policy), through the
        same SSH transport, and nothing else: the floor the panel is measured against."""
        from django.conf import settings

        from apps.containers.engine import cert_dir
        from apps.servers import drivers

        clients = [drivers.docker_client(server) for server in self.servers]

        def start(args):
            client, server = args
            port = server.port_range_end  # out of the panel's way (it takes the lowest)
            return client.containers.run(
                server.image, [
                    "-a", f":{port}", "-stun-port", str(port), "-http-port", "-1",
                    "-hostname", server.public_ip, "-certmode", "manual", "-certdir",
                    settings.DERP_CONTAINER_CERT_DIR, "-verify-client-url",
                    f"{settings.PANEL_URL}/api/acl/admit/raw-start",
                    "-verify-client-url-fail-open=false"],
                detach=True, name=f"bench-raw-{os.getpid()}-{server.pk}",
                labels={"derpmgr.panel": settings.PANEL_ID, "derpmgr.server": str(server.pk)},
                ports={f"{port}/tcp": port, f"{port}/udp": port},
                volumes={cert_dir(server): {"bind": settings.DERP_CONTAINER_CERT_DIR, "mode": "ro"}},
                restart_policy={"Name": "unless-stopped"})

        with ThreadPoolExecutor(max_workers=3) as pool:
            started = time.perf_counter()
            containers = list(pool.map(start, zip(clients, self.servers, strict=True)))
            elapsed = time.perf_counter() - started
        for container in containers:
            container.remove(force=True)
        return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    missing = infra.missing_parts()
    if missing:
        print("missing: " + ", ".join(missing), file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="derpmgr-bench-") as tmp:
        work = Path(tmp)
        podman = infra.PodmanService(work)
        loopback = infra.LoopbackFleet(work)
        bench = None
        try:
            podman.ensure()
            _configure(work, infra.ensure_relay_image())
            bench = Bench(loopback)
            bench.activation_to_running(), bench.raw_starts()  # warm-up: connections, caches
            product, baseline = [], []
            for round_number in range(1, args.rounds + 1):
                product.append(bench.activation_to_running())
                baseline.append(bench.raw_starts())
                print(f"round {round_number}: activation-to-running {product[-1]:.3f} s, "
                      f"raw starts {baseline[-1]:.3f} s")
        finally:
            if bench is not None:
                bench.fleet.remove_containers()
            loopback.stop()
            podman.stop()

    a, b = statistics.median(product), statistics.median(baseline)
    ratio = a / b
    print(f"median activation-to-running: {a:.3f} s")
    print(f"median raw parallel starts:   {b:.3f} s")
    print(f"ratio: {ratio:.2f} (target <= {TARGET_RATIO})")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
