"""Probes that answer what a test says (no SSH, no network): `fake_probes`."""

import dataclasses
import threading

import pytest

from apps.monitoring import probes
from apps.monitoring.models import Metric

GOOD_FIGURES = {Metric.LOAD1: 0.25, Metric.CPUS: 2, Metric.MEM_PERCENT: 40.0,
                Metric.DISK_PERCENT: 50.0, Metric.UPTIME: 86400.0, Metric.SSH_MS: 12.5,
                Metric.ENGINE_OK: 1}
GOOD_RELAY = {Metric.TCP_MS: 1.0, Metric.TLS_MS: 4.0, Metric.HTTP_MS: 2.0, Metric.STUN_MS: 1.5}


@dataclasses.dataclass
class FakeProbes:
    """What the servers and relays answer, per test: every server and relay is fine unless put
    in one of the sets; `figures` override a server's numbers."""

    down: set = dataclasses.field(default_factory=set)  # server ids whose SSH fails
    host_key_changed: set = dataclasses.field(default_factory=set)
    raising: set = dataclasses.field(default_factory=set)  # server ids whose probe blows up
    hanging: set = dataclasses.field(default_factory=set)  # server ids that never answer
    figures: dict = dataclasses.field(default_factory=dict)  # server id -> {metric: value}
    pings: dict = dataclasses.field(default_factory=dict)  # server id -> {target: (ms, loss)}
    relays_down: set = dataclasses.field(default_factory=set)  # relay ports that do not answer
    wrong_cert: set = dataclasses.field(default_factory=set)  # relay ports with another cert
    slow_relays: dict = dataclasses.field(default_factory=dict)  # port -> TLS ms
    targets: dict = dataclasses.field(default_factory=dict)  # server id -> targets asked
    release: threading.Event = dataclasses.field(default_factory=threading.Event)

    def probe_server(self, server, targets, *, engine_version=False):
        self.targets[server.pk] = list(targets)
        if server.pk in self.hanging:
            self.release.wait(timeout=30)
        if server.pk in self.raising:
            raise RuntimeError("the probe blew up")
        if server.pk in self.host_key_changed:
            return probes.ServerProbe(ok=False, error=f"{server.ssh_host} presented a different "
                                      "host key", error_code="host_key_mismatch")
        if server.pk in self.down:
            return probes.ServerProbe(ok=False, error=f"{server.ssh_host} timed out",
                                      error_code="timeout")
        figures = {**GOOD_FIGURES, **self.figures.get(server.pk, {})}
        return probes.ServerProbe(ok=True, figures=figures, pings=self.pings.get(server.pk, {}),
                                  engine_version="fake-1.0" if engine_version else "")

    def probe_relay(self, host, port, *, fingerprint, server_name=""):
        if port in self.relays_down:
            return probes.RelayProbe(reachable=False, error=f"TCP {host}:{port}: refused")
        if port in self.wrong_cert:
            return probes.RelayProbe(reachable=False, cert_ok=False, figures={Metric.TCP_MS: 1.0},
                                     error=f"the relay presented abc, pinned {fingerprint}")
        figures = dict(GOOD_RELAY)
        if port in self.slow_relays:
            figures[Metric.TLS_MS] = self.slow_relays[port]
        return probes.RelayProbe(reachable=True, cert_ok=True, figures=figures)


@pytest.fixture
def fake_probes(monkeypatch):
    fake = FakeProbes()
    monkeypatch.setattr(probes, "probe_server", fake.probe_server)
    monkeypatch.setattr(probes, "probe_relay", fake.probe_relay)
    yield fake
    fake.release.set()
