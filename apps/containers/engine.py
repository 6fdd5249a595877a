"""The container engine as the services see it: relay containers on a server, by label.

`DockerEngine` talks to the server's engine over SSH (apps.servers.drivers). Tests may swap in
another engine with the CONTAINER_ENGINE setting (a dotted path); only services call this.
"""

import dataclasses
import functools
import re
import shlex
from concurrent.futures import ThreadPoolExecutor

import docker.errors
from django.conf import settings
from django.utils.module_loading import import_string

from apps.servers import drivers
from apps.servers.drivers import RemoteError

LABEL_PANEL = "derpmgr.panel"
LABEL_SERVER = "derpmgr.server"
LABEL_INSTANCE = "derpmgr.instance"
LABEL_USER = "derpmgr.user"


@dataclasses.dataclass(frozen=True)
class ContainerState:
    name: str
    id: str
    running: bool
    instance_id: int | None


@dataclasses.dataclass(frozen=True)
class Counters:
    """A relay container's cumulative network bytes and which start of the container they
    belong to (its id and start time): a restarted container counts from zero again."""

    rx: int
    tx: int
    epoch: str


# Containers asked at once on one server: the engine connection's pool holds this many.
STATS_AT_ONCE = 4


def swaps_network_stats(version: dict) -> bool:
    """True for engines whose stats give a container's received bytes as sent and the other way
    round: podman before 4.4 (containers/podman#16618), as its /version names it."""
    for component in version.get("Components") or []:
        if component.get("Name") == "Podman Engine":
            numbers = re.findall(r"\d+", component.get("Version", ""))[:2]
            return tuple(int(n) for n in numbers) < (4, 4)
    return False


def container_name(instance) -> str:
    """Unique on a host that several panels share: the panel's id, then the user and instance."""
    panel = re.sub(r"[^a-zA-Z0-9_.-]", "-", settings.PANEL_ID)[:32]
    return f"derp-{panel}-u{instance.user_id}-i{instance.pk}"


def _exactly(name: str) -> dict:
    """A filter for the container called `name` (the engine matches names as a pattern)."""
    return {"name": f"^/?{re.escape(name)}$"}


def cert_dir(server) -> str:
    return f"{settings.DERP_HOST_CERT_DIR.rstrip('/')}/{server.pk}"


def verify_url(instance) -> str:
    """The admission URL the relay calls: on ADMISSION_URL (the admission process), else PANEL_URL."""
    return f"{settings.ADMISSION_URL or settings.PANEL_URL}/api/acl/admit/{instance.admission_token}"


def relay_command(instance) -> list[str]:
    """derper's arguments: the template split once, then each value filled into one argument."""
    values = {"port": instance.port, "hostname": instance.server.hostname,
              "certdir": settings.DERP_CONTAINER_CERT_DIR, "verify_url": verify_url(instance)}
    return [token.format(**values) for token in shlex.split(settings.DERP_COMMAND)]


def labels(instance) -> dict[str, str]:
    return {LABEL_PANEL: settings.PANEL_ID, LABEL_SERVER: str(instance.server_id),
            LABEL_INSTANCE: str(instance.pk), LABEL_USER: str(instance.user_id)}


class DockerEngine:
    def run_relay(self, instance) -> str:
        """Create and start the instance's container; a leftover of an earlier try is replaced,
        a missing image pulled. Returns the container id. (The low-level calls spare the
        round trips docker-py's `containers.run` adds: a listing and an inspect.)"""
        server = instance.server
        name = container_name(instance)
        port = instance.port

        def operation(client):
            api = client.api
            config = {
                "image": server.image, "command": relay_command(instance), "name": name,
                "labels": labels(instance), "detach": True,
                "ports": [(port, "tcp"), (port, "udp")],
                "host_config": api.create_host_config(
                    port_bindings={f"{port}/tcp": port, f"{port}/udp": port},
                    binds={cert_dir(server): {"bind": settings.DERP_CONTAINER_CERT_DIR,
                                              "mode": "ro"}},
                    restart_policy={"Name": "unless-stopped"}),
            }
            try:
                created = api.create_container(**config)
            except docker.errors.ImageNotFound:
                client.images.pull(server.image)
                created = api.create_container(**config)
            except docker.errors.APIError as exc:
                # The name is taken by an earlier try: 409 from Docker, 500 from podman.
                if exc.status_code != 409 and "already in use" not in str(exc.explanation):
                    raise
                api.remove_container(name, force=True)
                created = api.create_container(**config)
            api.start(created["Id"])
            return created["Id"]

        return drivers.engine_call(server, operation)

    def start(self, instance) -> None:
        drivers.engine_call(instance.server,
                            lambda client: client.containers.get(container_name(instance)).start())

    def stop(self, instance) -> None:
        drivers.engine_call(instance.server, lambda client: client.containers.get(
            container_name(instance)).stop(timeout=10))

    def remove(self, instance) -> None:
        """Remove the container; one that is already gone is fine."""
        def operation(client):
            for container in client.containers.list(
                    all=True, filters=_exactly(container_name(instance))):
                container.remove(force=True)

        drivers.engine_call(instance.server, operation)

    def remove_by_name(self, server, name: str) -> None:
        def operation(client):
            for container in client.containers.list(all=True, filters=_exactly(name)):
                container.remove(force=True)

        drivers.engine_call(server, operation)

    def list_relays(self, server) -> list[ContainerState]:
        """This panel's relay containers on the server, running or not."""
        def operation(client):
            found = client.containers.list(all=True, filters={"label": [
                f"{LABEL_PANEL}={settings.PANEL_ID}", f"{LABEL_SERVER}={server.pk}"]})
            return [ContainerState(
                name=c.name, id=c.id, running=c.status == "running",
                instance_id=int(c.labels[LABEL_INSTANCE]) if c.labels.get(LABEL_INSTANCE, "").isdigit()
                else None) for c in found]

        return drivers.engine_call(server, operation)

    def network_counters(self, server) -> dict[int, Counters]:
        """The network counters of this panel's running relay containers on the server, by
        instance id: bytes summed over the container's networks (bridge networking), from the
        engine's one-shot stats, and the container's start from its inspect."""
        def operation(client):
            api = client.api
            swapped = getattr(client, "derpmgr_swaps_network_stats", None)
            if swapped is None:  # asked once per connection to the engine
                swapped = client.derpmgr_swaps_network_stats = swaps_network_stats(api.version())
            found = api.containers(filters={"status": "running", "label": [
                f"{LABEL_PANEL}={settings.PANEL_ID}", f"{LABEL_SERVER}={server.pk}"]})
            relays = [(int(c["Labels"][LABEL_INSTANCE]), c["Id"]) for c in found
                      if (c.get("Labels") or {}).get(LABEL_INSTANCE, "").isdigit()]

            def read(relay):
                instance_id, container_id = relay
                try:
                    started = api.inspect_container(container_id)["State"].get("StartedAt", "")
                    networks = (api.stats(container_id, stream=False, one_shot=True)
                                .get("networks") or {}).values()
                except docker.errors.APIError:  # removed or stopped since the listing: the
                    return instance_id, None    # next sample's delta covers it
                rx = sum(n.get("rx_bytes", 0) for n in networks)
                tx = sum(n.get("tx_bytes", 0) for n in networks)
                if swapped:
                    rx, tx = tx, rx
                return instance_id, Counters(rx=rx, tx=tx,
                                             epoch=f"{container_id[:64]}@{started}"[:100])

            if not relays:
                return {}
            with ThreadPoolExecutor(max_workers=min(STATS_AT_ONCE, len(relays)),
                                    thread_name_prefix="stats") as pool:
                return {i: counters for i, counters in pool.map(read, relays) if counters}

        return drivers.engine_call(server, operation)

    def check(self, server) -> str:
        """The engine's version; raises RemoteError if there is no engine to talk to."""
        return drivers.engine_call(server, lambda client: client.version().get("Version", "?"))

    def ping(self, server) -> None:
        """Raises RemoteError unless the engine answers (cheaper than asking its version: some
        engines run helper programs to say that)."""
        drivers.engine_call(server, lambda client: client.ping())

    def used_ports(self, server) -> set[int]:
        return drivers.used_ports(server)


@functools.cache
def _engine(path: str):
    return import_string(path)()


def get_engine():
    return _engine(settings.CONTAINER_ENGINE)


__all__ = ["ContainerState", "Counters", "DockerEngine", "RemoteError", "get_engine"]
