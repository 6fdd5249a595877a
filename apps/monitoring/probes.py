"""Looking at a server and its relays (a driver: only services call it; it touches no database).

A server is read over SSH in one round trip: load, CPUs, memory, disk, uptime and a ping to
each probe target, then its container engine is asked for its version. A relay is looked at
from the panel as a Tailscale client would: TCP, TLS with the pinned certificate (the derpMap's
"sha256-raw:<hex>"), `GET /generate_204`, and a STUN binding request on the same port.
"""

import dataclasses
import hashlib
import os
import socket
import ssl
import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor, wait

from django.conf import settings

from apps.servers import drivers

from .models import Metric

# Targets arrive as positional arguments ("$@"), never inside the script's text. The pings run
# side by side so that many targets cost one ping's time; /proc/uptime before and after lets
# the panel subtract the script's own time from the round trip.
SCRIPT = r"""
export LC_ALL=C
echo "t0 $(cut -d' ' -f1 /proc/uptime)"
echo "load1 $(cut -d' ' -f1 /proc/loadavg)"
echo "cpus $(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"
awk '/^MemTotal:/{t=$2} /^MemAvailable:/{a=$2}
     END{if(t>0) printf "mem_percent %.1f\n", (t-a)*100/t}' /proc/meminfo
df -P / | awk 'NR==2{sub("%","",$5); print "disk_percent " $5}'
if command -v ping >/dev/null 2>&1; then
  for target in "$@"; do
    (out=$(ping -c 3 -W 1 -q -- "$target" 2>/dev/null)
     loss=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p')
     avg=$(printf '%s\n' "$out" | sed -n 's#^r[a-z-]* min/avg/max[^=]*= [0-9.]*/\([0-9.]*\)/.*#\1#p')
     echo "ping ${loss:-100} ${avg:--} $target") &
  done
  wait
fi
echo "uptime_s $(cut -d' ' -f1 /proc/uptime)"
"""

HOST_FIGURES = {Metric.LOAD1, Metric.CPUS, Metric.MEM_PERCENT, Metric.DISK_PERCENT, Metric.UPTIME}


@dataclasses.dataclass
class ServerProbe:
    """What one look at a server found. `figures` are keyed by Metric values; `pings` by target:
    (average ms or None, loss %)."""

    ok: bool
    figures: dict[str, float] = dataclasses.field(default_factory=dict)
    pings: dict[str, tuple[float | None, float]] = dataclasses.field(default_factory=dict)
    engine_version: str = ""
    error: str = ""
    error_code: str = ""

    @property
    def host_key_changed(self) -> bool:
        return self.error_code == "host_key_mismatch"


@dataclasses.dataclass
class RelayProbe:
    """What a client of the relay saw. `cert_ok`: None when the TLS handshake was not reached."""

    reachable: bool
    cert_ok: bool | None = None
    figures: dict[str, float] = dataclasses.field(default_factory=dict)
    error: str = ""

    @property
    def cert_mismatch(self) -> bool:
        return self.cert_ok is False


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_output(output: str) -> tuple[dict[str, float], dict[str, tuple[float | None, float]],
                                       float | None]:
    """(figures, pings, seconds the script itself took) from the script's lines; lines that do
    not parse are left out."""
    figures: dict[str, float] = {}
    pings: dict[str, tuple[float | None, float]] = {}
    for line in output.splitlines():
        key, _sep, rest = line.strip().partition(" ")
        if key == "ping":
            fields = rest.split(" ", 2)
            loss = _number(fields[0]) if len(fields) == 3 else None
            if loss is not None:
                pings[fields[2]] = (_number(fields[1]), loss)
        elif key in HOST_FIGURES or key == "t0":
            value = _number(rest)
            if value is not None:
                figures[key] = value
    started = figures.pop("t0", None)
    spent = (figures[Metric.UPTIME] - started) if started is not None and \
        Metric.UPTIME in figures else None
    return figures, pings, spent


def probe_server(server, targets: list[str], *, engine_version: bool = False) -> ServerProbe:
    """The host's figures and pings in one SSH round trip, then whether the engine answers (and
    its version, when asked: "check now" shows it). Failures come back as a result (ok False,
    the reason), never as an exception."""
    from apps.containers.engine import get_engine

    started = time.perf_counter()
    try:
        output = drivers.run(server, ["sh", "-c", SCRIPT, "sh", *targets])
    except drivers.RemoteError as error:
        return ServerProbe(ok=False, error=str(error), error_code=error.code)
    round_trip = time.perf_counter() - started
    figures, pings, spent = parse_output(output)
    if spent is not None and 0 <= spent < round_trip:
        round_trip -= spent
    figures[Metric.SSH_MS] = round(round_trip * 1000, 1)
    try:
        version = get_engine().check(server) if engine_version else ""
        if not engine_version:
            get_engine().ping(server)
    except drivers.RemoteError as error:
        figures[Metric.ENGINE_OK] = 0
        return ServerProbe(ok=False, figures=figures, pings=pings, error=str(error),
                           error_code=error.code)
    figures[Metric.ENGINE_OK] = 1
    return ServerProbe(ok=True, figures=figures, pings=pings, engine_version=version)


# --- Relays, from the panel -------------------------------------------------------------------

class CertificateMismatch(Exception):
    """The relay presented a certificate other than the one the derpMap pins (or, for a server
    with a domain, one that fails CA or host name verification)."""


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def tls_to_relay(raw: socket.socket, *, fingerprint: str, server_name: str = "") -> ssl.SSLSocket:
    """TLS over `raw` as a client of the derpMap makes it: the certificate must hash (SHA-256 of
    the DER) to `fingerprint`; without one, CA and host name verification for `server_name`."""
    if fingerprint:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(raw, server_hostname=server_name or None)
        presented = hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()
        if presented != fingerprint.lower():
            sock.close()
            raise CertificateMismatch(f"the relay presented {presented}, pinned {fingerprint}")
        return sock
    context = ssl.create_default_context()
    try:
        return context.wrap_socket(raw, server_hostname=server_name)
    except ssl.SSLCertVerificationError as error:
        raise CertificateMismatch(f"the relay's certificate failed verification: "
                                  f"{error.verify_message}") from error


def generate_204_status(sock: ssl.SSLSocket, host: str) -> int | None:
    """The status of `GET /generate_204` over an open TLS connection (None: no answer)."""
    sock.sendall(f"GET /generate_204 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                 .encode())
    status = sock.makefile("rb").readline().split()
    return int(status[1]) if len(status) >= 2 and status[1].isdigit() else None


def stun_request() -> tuple[bytes, bytes]:
    """(request, transaction id): a binding request as tailscaled sends it (derper answers only
    those with Tailscale's SOFTWARE attribute and a FINGERPRINT)."""
    transaction = os.urandom(12)
    software = struct.pack(">HH", 0x8022, 8) + b"tailnode"
    header = struct.pack(">HH", 0x0001, len(software) + 8) + b"\x21\x12\xa4\x42" + transaction
    fingerprint = (zlib.crc32(header + software) ^ 0x5354554E) & 0xFFFFFFFF
    return header + software + struct.pack(">HHI", 0x8028, 4, fingerprint), transaction


def stun_binding(host: str, port: int, *, timeout: float) -> bool:
    """True if the relay answers a STUN binding request with a success for that request."""
    request, transaction = stun_request()
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                       socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(request, (host, port))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:  # stray datagrams are not the answer
                answer, _peer = sock.recvfrom(2048)
                if answer[:2] == b"\x01\x01" and answer[8:20] == transaction:
                    return True
        except OSError:
            return False
    return False


def probe_relay(host: str, port: int, *, fingerprint: str, server_name: str = "",
                timeout: float | None = None) -> RelayProbe:
    """TCP connect, TLS handshake (pinned), /generate_204 and STUN, each timed."""
    timeout = timeout or settings.MONITORING_RELAY_TIMEOUT
    figures: dict[str, float] = {}
    started = time.perf_counter()
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as error:
        return RelayProbe(reachable=False, error=f"TCP {host}:{port}: {error}")
    figures[Metric.TCP_MS] = _ms(started)
    try:
        started = time.perf_counter()
        try:
            sock = tls_to_relay(raw, fingerprint=fingerprint, server_name=server_name)
        except CertificateMismatch as error:
            return RelayProbe(reachable=False, cert_ok=False, figures=figures, error=str(error))
        figures[Metric.TLS_MS] = _ms(started)
        with sock:
            started = time.perf_counter()
            status = generate_204_status(sock, server_name or host)
            figures[Metric.HTTP_MS] = _ms(started)
    except (OSError, ssl.SSLError) as error:
        raw.close()
        return RelayProbe(reachable=False, cert_ok=True if Metric.TLS_MS in figures else None,
                          figures=figures, error=f"TLS {host}:{port}: {error}")
    if status != 204:
        return RelayProbe(reachable=False, cert_ok=True, figures=figures,
                          error=f"GET /generate_204 on {host}:{port} answered {status}")
    started = time.perf_counter()
    if not stun_binding(host, port, timeout=timeout):
        return RelayProbe(reachable=False, cert_ok=True, figures=figures,
                          error=f"no STUN answer from {host}:{port}")
    figures[Metric.STUN_MS] = _ms(started)
    return RelayProbe(reachable=True, cert_ok=True, figures=figures)


# --- Many at once ---------------------------------------------------------------------------

class ProbeTimedOut(Exception):
    pass


def in_parallel(work, items: list, *, timeout: float, workers: int) -> list:
    """work(item) for each item in a pool of threads; each result in order, or the exception it
    raised, or ProbeTimedOut for those not finished `timeout` seconds after the start (their
    threads are left to end by their own timeouts: nobody waits for them)."""
    if not items:
        return []
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(items))),
                              thread_name_prefix="probe")
    try:
        futures = [pool.submit(work, item) for item in items]
        wait(futures, timeout=timeout)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    results = []
    for future in futures:
        if future.cancelled() or not future.done():
            results.append(ProbeTimedOut(f"no answer within {timeout:g} s"))
        elif future.exception() is not None:
            results.append(future.exception())
        else:
            results.append(future.result())
    return results
