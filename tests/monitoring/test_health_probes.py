"""The probes themselves: the server script runs in one SSH round trip with the ping targets as
arguments (never inside the script's text) and its output becomes figures; a relay is checked
as a Tailscale client would check it (TCP, TLS with the pinned certificate, /generate_204,
STUN), and a missing piece is a finding, never an exception."""

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import threading

import pytest

from apps.monitoring import probes
from apps.monitoring.models import Metric
from apps.servers import certs, drivers

IPUTILS = """PING 10.0.0.1 (10.0.0.1) 56(84) bytes of data.
--- 10.0.0.1 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 2003ms
rtt min/avg/max/mdev = 0.030/0.041/0.050/0.010 ms"""


def test_the_output_becomes_figures_and_lines_that_do_not_parse_are_left_out():
    figures, pings, spent = probes.parse_output(
        "t0 100.50\nload1 0.42\ncpus 4\nmem_percent 37.5\ndisk_percent 81\n"
        "ping 0 0.041 10.0.0.1\nping 100 - 10.0.0.2\nping x y\nload1\nnonsense 12\n"
        "uptime_s 100.75\n")

    assert figures == {Metric.LOAD1: 0.42, Metric.CPUS: 4, Metric.MEM_PERCENT: 37.5,
                       Metric.DISK_PERCENT: 81, Metric.UPTIME: 100.75}
    assert pings == {"10.0.0.1": (0.041, 0.0), "10.0.0.2": (None, 100.0)}
    assert spent == pytest.approx(0.25)


@pytest.fixture
def local_shell(monkeypatch, tmp_path):
    """drivers.run runs the argv on this machine (as sshd would run it on the server), with a
    fake `ping` first on the PATH: iputils' output for every target but "lost"."""
    fake_ping = tmp_path / "bin" / "ping"
    fake_ping.parent.mkdir()
    fake_ping.write_text("#!/bin/sh\nfor a; do t=$a; done\n"
                         "[ \"$t\" = lost ] && { echo '3 packets transmitted, 0 received, "
                         "100% packet loss'; exit 1; }\n"
                         f"cat <<'EOF'\n{IPUTILS}\nEOF\n")
    fake_ping.chmod(0o755)
    seen = []

    def run(server, argv, *, check=True):
        seen.append(list(argv))
        env = {**os.environ, "PATH": f"{fake_ping.parent}:{os.environ['PATH']}"}
        return subprocess.run(argv, capture_output=True, text=True, check=True, env=env).stdout

    monkeypatch.setattr(drivers, "run", run)
    return seen


def test_one_round_trip_reads_the_host_and_pings_each_target(make_server, fake_engine,
                                                             local_shell, tmp_path):
    server = make_server("sh-1")
    planted = tmp_path / "planted"
    hostile = f"$(touch {planted})"

    result = probes.probe_server(server, ["10.0.0.1", "lost", hostile])

    [argv] = local_shell
    assert argv[:2] == ["sh", "-c"] and argv[3:] == ["sh", "10.0.0.1", "lost", hostile]
    assert "10.0.0.1" not in argv[2]
    assert not planted.exists()  # a target is an argument, never shell text
    assert result.ok and result.engine_version == ""  # rounds only ping the engine
    assert ("ping", server.pk, "") in fake_engine.calls
    assert result.figures[Metric.CPUS] == os.cpu_count()
    assert 0 <= result.figures[Metric.MEM_PERCENT] <= 100
    assert 0 <= result.figures[Metric.DISK_PERCENT] <= 100
    assert result.figures[Metric.UPTIME] > 0 and result.figures[Metric.LOAD1] >= 0
    assert result.figures[Metric.ENGINE_OK] == 1 and result.figures[Metric.SSH_MS] >= 0
    assert result.pings == {"10.0.0.1": (0.041, 0.0), "lost": (None, 100.0),
                            hostile: (0.041, 0.0)}


def test_check_now_asks_the_engine_its_version_too(make_server, fake_engine, remote):
    server = make_server("sh-1")

    result = probes.probe_server(server, [], engine_version=True)

    assert result.ok and result.engine_version == "fake-1.0"
    assert ("check", server.pk, "") in fake_engine.calls


def test_without_a_ping_binary_there_are_no_ping_figures(make_server, fake_engine, monkeypatch,
                                                         tmp_path):
    tools = tmp_path / "no-ping"  # the tools the script uses, and no ping among them
    tools.mkdir()
    for tool in ("cut", "nproc", "getconf", "awk", "df", "sed", "printf", "cat"):
        if shutil.which(tool):
            (tools / tool).symlink_to(shutil.which(tool))
    output = subprocess.run([shutil.which("sh"), "-c", probes.SCRIPT, "sh", "10.0.0.1"],
                            capture_output=True, text=True, env={"PATH": str(tools)}, check=True)
    monkeypatch.setattr(drivers, "run", lambda server, argv, check=True: output.stdout)

    result = probes.probe_server(make_server("sh-1"), ["10.0.0.1"])

    assert result.ok and result.pings == {} and Metric.LOAD1 in result.figures
    assert Metric.DISK_PERCENT in result.figures and Metric.UPTIME in result.figures


def test_an_ssh_failure_or_a_dead_engine_is_a_failed_probe_not_an_exception(
        make_server, fake_engine, remote):
    server = make_server("sh-1")
    remote.run_error = drivers.RemoteError("root@x timed out", transient=True, code="timeout")
    failed = probes.probe_server(server, [])
    assert (failed.ok, failed.error_code, failed.figures) == (False, "timeout", {})

    remote.run_error = None
    fake_engine.down.add(server.pk)
    no_engine = probes.probe_server(server, [])
    assert not no_engine.ok and no_engine.figures[Metric.ENGINE_OK] == 0
    assert Metric.SSH_MS in no_engine.figures


# --- Relays ---------------------------------------------------------------------------------

class LocalRelay:
    """A TLS listener answering /generate_204 and a STUN responder on the same port number."""

    def __init__(self, tmp_path, *, stun: bool = True, status: int = 204):
        cert_pem, key_pem = certs.make_self_signed("127.0.0.1")
        (tmp_path / "relay.crt").write_bytes(cert_pem)
        (tmp_path / "relay.key").write_bytes(key_pem)
        self.fingerprint = certs.sha256_raw(cert_pem)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(tmp_path / "relay.crt", tmp_path / "relay.key")
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.status = status
        self.threads = [threading.Thread(target=self._serve_tcp, daemon=True)]
        if stun:
            self.threads.append(threading.Thread(target=self._serve_udp, daemon=True))
        for thread in self.threads:
            thread.start()

    def _serve_tcp(self):
        with contextlib.suppress(OSError):
            while True:
                raw, _peer = self.tcp.accept()
                with contextlib.suppress(OSError, ssl.SSLError), \
                        self.context.wrap_socket(raw, server_side=True) as sock:
                    sock.recv(4096)
                    sock.sendall(f"HTTP/1.1 {self.status} No Content\r\n\r\n".encode())

    def _serve_udp(self):
        with contextlib.suppress(OSError):
            while True:
                request, peer = self.udp.recvfrom(2048)
                self.udp.sendto(b"\x01\x01\x00\x00" + request[4:20], peer)

    def close(self):
        self.tcp.close()
        self.udp.close()


@pytest.fixture
def relay(tmp_path):
    relay = LocalRelay(tmp_path)
    yield relay
    relay.close()


def test_a_relay_with_the_pinned_certificate_is_reachable_with_each_step_timed(relay):
    result = probes.probe_relay("127.0.0.1", relay.port, fingerprint=relay.fingerprint,
                                timeout=2)

    assert result.reachable and result.cert_ok and result.error == ""
    assert set(result.figures) == {Metric.TCP_MS, Metric.TLS_MS, Metric.HTTP_MS, Metric.STUN_MS}


def test_another_certificate_is_a_mismatch(relay):
    result = probes.probe_relay("127.0.0.1", relay.port, fingerprint="ab" * 32, timeout=2)

    assert not result.reachable and result.cert_mismatch
    assert relay.fingerprint in result.error and Metric.TLS_MS not in result.figures


def test_a_server_with_a_domain_and_no_pin_is_verified_against_the_cas(relay):
    result = probes.probe_relay("127.0.0.1", relay.port, fingerprint="",
                                server_name="derp.example.com", timeout=2)

    assert not result.reachable and result.cert_mismatch  # self-signed: no CA vouches for it


def test_nothing_listening_is_unreachable_without_a_verdict_on_the_certificate():
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    result = probes.probe_relay("127.0.0.1", port, fingerprint="ab" * 32, timeout=2)

    assert not result.reachable and result.cert_ok is None and "TCP" in result.error


def test_a_wrong_status_or_no_stun_answer_is_unreachable(tmp_path):
    wrong = LocalRelay(tmp_path, status=404)
    silent = LocalRelay(tmp_path, stun=False)
    try:
        answered = probes.probe_relay("127.0.0.1", wrong.port, fingerprint=wrong.fingerprint,
                                      timeout=2)
        mute = probes.probe_relay("127.0.0.1", silent.port, fingerprint=silent.fingerprint,
                                  timeout=0.5)
    finally:
        wrong.close()
        silent.close()

    assert not answered.reachable and "404" in answered.error and answered.cert_ok
    assert not mute.reachable and "STUN" in mute.error and Metric.HTTP_MS in mute.figures


def test_many_probes_run_at_once_and_a_slow_one_is_cut_off_at_the_deadline():
    release = threading.Event()

    def work(n):
        if n == 3:
            release.wait(timeout=30)
        if n == 4:
            raise ValueError("broken")
        return n * 10

    results = probes.in_parallel(work, list(range(6)), timeout=0.5, workers=8)
    release.set()

    assert results[:3] == [0, 10, 20] and results[5] == 50
    assert isinstance(results[3], probes.ProbeTimedOut)
    assert isinstance(results[4], ValueError)
