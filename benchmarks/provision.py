"""Activation-to-running on three servers against three raw container starts, in the same run.

    .venv/bin/python benchmarks/provision.py [--rounds 5] [--stock-broker]

Sets up its own parts (three sshd "servers" on 127.0.0.x in front of one podman, the test relay
image, a temporary SQLite database, and a Celery worker as scripts/run.sh starts it: `celery
worker -B --concurrency 2` on the filesystem broker in the data directory) and measures, round
after round:

  (a) activation to running, in this process: a customer activates a code
      (apps.distribution.services.redeem), then the provisioning operation it recorded, carried
      out here as a worker would (apps.operations.services.run_due), until the three relays run;
  (b) activation to running, end to end on the embedded defaults: the same activation, the
      operation sent through the filesystem broker and carried out by the worker; the clock stops
      when the database says the three relays are running;
  (c) baseline: three containers of the same image started over SSH in parallel with the Docker
      SDK (threads; one per server), nothing else.

Prints the medians and the ratios (a)/(c) and (b)/(c) (target for both: at most 1.3; exit status
1 above it). --stock-broker: the worker uses kombu's own filesystem transport polling every
0.2 s (the "before" of the queue hop; derpmgr/broker.py is woken by each message). Needs root,
podman, sshd, socat and the derper binary (scripts/test.sh installs and builds them); the
periodic jobs are not scheduled (they would act on the benchmark's containers).
"""

import argparse
import logging
import os
import statistics
import subprocess
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
        "SERVERS_ALLOW_LOCAL_ADDRESSES": "true",  # the "servers" are sshd on 127.0.0.x
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
        self._send = operations.send
        self._users = 0

    def activation_to_running(self, *, through_broker: bool = False) -> float:
        from apps.billing.models import Plan
        from apps.containers.models import DerpInstance, InstanceStatus
        from apps.distribution.services import generate_codes, redeem
        from apps.operations import services as operations
        from tests.factories import UserFactory

        plan = Plan.objects.filter(servers_per_rental=3).first()
        (code,), _order = generate_codes(actor=self.admin, plan=plan, quantity=1)
        self._users += 1
        user = UserFactory(username=f"bench-user-{self._users}")

        def running() -> int:
            return DerpInstance.objects.filter(user=user, status=InstanceStatus.RUNNING).count()

        # In this process the operation is not sent: it is carried out here, as a worker would.
        operations.send = self._send if through_broker else (lambda operation_id, **kwargs: True)
        started = time.perf_counter()
        redeem(user=user, raw_code=code.code)
        if through_broker:
            infra.wait_for(lambda: running() == 3, timeout=120, interval=0.005,
                           what="the worker to start three relays")
        else:
            operations.run_due()
        elapsed = time.perf_counter() - started

        if running() != 3:
            raise SystemExit(f"only {running()} of 3 relays are running")
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


def start_worker(work: Path, *, stock_broker: bool) -> subprocess.Popen:
    """The worker as scripts/run.sh starts it (beat embedded), on this process's settings."""
    env = dict(os.environ)
    if stock_broker:
        env.update(DJANGO_SETTINGS_MODULE="benchmarks.support.stock_broker_settings",
                   FILESYSTEM_BROKER_POLLING_INTERVAL="0.2")
    log = work / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("celery")), "-A", "derpmgr", "worker", "-B",
             "--loglevel=INFO", "--concurrency", "2", "--schedule", str(work / "celerybeat-schedule")],
            cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    infra.wait_for(lambda: worker.poll() is not None or b" ready." in log.read_bytes(), timeout=120,
                   what="the worker to be ready")
    if worker.poll() is not None:
        raise SystemExit(f"the worker exited:\n{log.read_text()[-3000:]}")
    return worker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stock-broker", action="store_true",
                        help="the worker on kombu's own filesystem transport, polling every 0.2 s")
    args = parser.parse_args()
    missing = infra.missing_parts()
    if missing:
        print("missing: " + ", ".join(missing), file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="derpmgr-bench-") as tmp:
        work = Path(tmp)
        podman = infra.PodmanService(work)
        loopback = infra.LoopbackFleet(work)
        bench = worker = None
        try:
            podman.ensure()
            _configure(work, infra.ensure_relay_image())
            bench = Bench(loopback)
            worker = start_worker(work, stock_broker=args.stock_broker)
            # Warm-up: SSH connections and caches, here and in the worker's pool processes.
            bench.activation_to_running(), bench.raw_starts()
            for _ in range(2):
                bench.activation_to_running(through_broker=True)
            in_process, end_to_end, baseline = [], [], []
            for round_number in range(1, args.rounds + 1):
                in_process.append(bench.activation_to_running())
                end_to_end.append(bench.activation_to_running(through_broker=True))
                baseline.append(bench.raw_starts())
                print(f"round {round_number}: activation-to-running {in_process[-1]:.3f} s here, "
                      f"{end_to_end[-1]:.3f} s through the broker; raw starts {baseline[-1]:.3f} s",
                      flush=True)
        finally:
            if worker is not None:
                infra.kill_tree(worker)
            if bench is not None:
                bench.fleet.remove_containers()
            loopback.stop()
            podman.stop()

    here, through, raw = (statistics.median(v) for v in (in_process, end_to_end, baseline))
    broker = "kombu's filesystem transport, polling 0.2 s" if args.stock_broker else "derpmgr.broker"
    print(f"median activation-to-running, in this process:     {here:.3f} s  ratio {here / raw:.2f}")
    print(f"median activation-to-running, through the broker:  {through:.3f} s  ratio "
          f"{through / raw:.2f}  ({broker}, worker -B --concurrency 2)")
    print(f"median raw parallel starts:                        {raw:.3f} s")
    print(f"target: ratios <= {TARGET_RATIO}")
    return 0 if max(here, through) / raw <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
