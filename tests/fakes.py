"""An in-memory container engine for fast service tests (the real one is tested against sshd
and podman in tests/fleet). Select it with settings.CONTAINER_ENGINE = "tests.fakes.FakeEngine"
and reach the instance with engine() below."""

import itertools

from apps.containers import engine as engine_module
from apps.containers.engine import ContainerState, Counters, container_name
from apps.servers.drivers import RemoteError


class FakeEngine:
    def __init__(self):
        self.containers: dict[tuple[int, str], dict] = {}  # (server id, name) -> state
        self.host_ports: dict[int, set[int]] = {}  # ports some other process holds, per server
        self.down: set[int] = set()  # servers that do not answer
        self.fail_next: list[RemoteError] = []  # errors the next calls raise, in order
        self.calls: list[tuple[str, int, str]] = []
        self._ids = itertools.count(1)

    def _enter(self, operation: str, server, name: str = "") -> None:
        self.calls.append((operation, server.pk, name))
        if server.pk in self.down:
            raise RemoteError(f"{server.name} unreachable", transient=True, code="unreachable")
        if self.fail_next:
            raise self.fail_next.pop(0)

    def run_relay(self, instance) -> str:
        name = container_name(instance)
        self._enter("run_relay", instance.server, name)
        container_id = f"c{next(self._ids):012d}"
        self.containers[(instance.server_id, name)] = {
            "id": container_id, "running": True, "instance_id": instance.pk, "port": instance.port,
            "command": engine_module.relay_command(instance), "labels": engine_module.labels(instance),
            "rx": 0, "tx": 0, "started": next(self._ids)}
        return container_id

    def start(self, instance) -> None:
        self._enter("start", instance.server, container_name(instance))
        container = self.containers[(instance.server_id, container_name(instance))]
        if not container["running"]:  # a new start: its network counters begin at zero
            container.update(running=True, rx=0, tx=0, started=next(self._ids))

    def stop(self, instance) -> None:
        self._enter("stop", instance.server, container_name(instance))
        self.containers[(instance.server_id, container_name(instance))]["running"] = False

    def remove(self, instance) -> None:
        self._enter("remove", instance.server, container_name(instance))
        self.containers.pop((instance.server_id, container_name(instance)), None)

    def remove_by_name(self, server, name: str) -> None:
        self._enter("remove_by_name", server, name)
        self.containers.pop((server.pk, name), None)

    def list_relays(self, server) -> list[ContainerState]:
        self._enter("list_relays", server)
        return [ContainerState(name=name, id=c["id"], running=c["running"],
                               instance_id=c["instance_id"])
                for (server_id, name), c in self.containers.items() if server_id == server.pk]

    def network_counters(self, server) -> dict[int, Counters]:
        self._enter("network_counters", server)
        return {c["instance_id"]: Counters(rx=c["rx"], tx=c["tx"], epoch=f"{c['id']}@{c['started']}")
                for (server_id, _name), c in self.containers.items()
                if server_id == server.pk and c["running"]}

    def carry(self, instance, *, rx: int = 0, tx: int = 0) -> None:
        """The relay's container receives and sends this many bytes."""
        container = self.containers[(instance.server_id, container_name(instance))]
        container["rx"] += rx
        container["tx"] += tx

    def restart(self, instance) -> None:
        """The container restarts by itself (a crash, the engine's restart policy)."""
        container = self.containers[(instance.server_id, container_name(instance))]
        container.update(rx=0, tx=0, started=next(self._ids))

    def check(self, server) -> str:
        self._enter("check", server)
        return "fake-1.0"

    def ping(self, server) -> None:
        self._enter("ping", server)

    def used_ports(self, server) -> set[int]:
        self._enter("used_ports", server)
        return set(self.host_ports.get(server.pk, set()))

    def on(self, server) -> dict[str, dict]:
        """The containers on one server, by name."""
        return {name: c for (server_id, name), c in self.containers.items() if server_id == server.pk}


def engine() -> FakeEngine:
    """The engine the services use now (call after switching CONTAINER_ENGINE)."""
    return engine_module.get_engine()
