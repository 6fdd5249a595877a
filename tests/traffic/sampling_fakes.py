"""Servers' interface counters as a test says (no SSH): `fake_hosts`."""

import dataclasses
import threading

import pytest

from apps.containers.engine import Counters
from apps.servers.drivers import RemoteError
from apps.traffic import collect


@dataclasses.dataclass
class FakeHosts:
    """Each server's interface counters (start at zero, first boot "boot-1"); servers in
    `down` do not answer, those in `hanging` answer only once `release` is set."""

    counters: dict = dataclasses.field(default_factory=dict)  # server id -> [rx, tx, boot]
    down: set = dataclasses.field(default_factory=set)
    hanging: set = dataclasses.field(default_factory=set)
    release: threading.Event = dataclasses.field(default_factory=threading.Event)

    def _of(self, server) -> list:
        return self.counters.setdefault(server.pk, [0, 0, "boot-1"])

    def carry(self, server, *, rx: int = 0, tx: int = 0) -> None:
        state = self._of(server)
        state[0] += rx
        state[1] += tx

    def reboot(self, server) -> None:
        state = self._of(server)
        state[:] = [0, 0, f"boot-{int(state[2].split('-')[1]) + 1}"]

    def interface_counters(self, server) -> Counters:
        if server.pk in self.hanging:
            self.release.wait(timeout=30)
        if server.pk in self.down:
            raise RemoteError(f"{server.name} unreachable", transient=True, code="unreachable")
        rx, tx, boot = self._of(server)
        return Counters(rx=rx, tx=tx, epoch=boot)


@pytest.fixture
def fake_hosts(monkeypatch):
    hosts = FakeHosts()
    monkeypatch.setattr(collect, "interface_counters", hosts.interface_counters)
    yield hosts
    hosts.release.set()
