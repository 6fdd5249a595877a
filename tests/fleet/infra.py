"""Real parts for the fleet tests and the benchmark: podman serving the Docker API, the relay image
(the real derper), and OpenSSH daemons on loopback addresses standing in for servers.

No Django imports here: the benchmark uses this module before Django is set up. Every process
started here is stopped by its own PID (and its descendants), never by name.
"""

import contextlib
import fcntl
import hashlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests import tailscale_bin

PODMAN_SOCKET = "/run/podman/podman.sock"
DIAL_COMMAND = f"socat - UNIX-CONNECT:{PODMAN_SOCKET}"
RELAY_REPOSITORY = "localhost/derp-test"
SSHD = "/usr/sbin/sshd"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")  # for a verify URL on https


# --- Waiting without sleeping blindly ---------------------------------------------------------

def wait_for(condition, *, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    """Poll `condition()` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# --- What this machine has ---------------------------------------------------------------------

def missing_parts() -> list[str]:
    """What the fleet tests need and this machine lacks (empty: all there)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (rootful podman, sshd with root login)")
    for tool in ("podman", "socat", "ss"):
        if shutil.which(tool) is None:
            missing.append(tool)
    if not os.access(SSHD, os.X_OK):
        missing.append(SSHD)
    return missing + tailscale_bin.missing("derper")


# --- Processes ------------------------------------------------------------------------------

def _children_of() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    children, found, queue = _children_of(), [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def kill_tree(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Kill a process we started and everything it forked (by PID), then reap it."""
    for pid in [*descendants(process.pid), process.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


# --- podman serving the Docker API ------------------------------------------------------------

def podman_answers(socket_path: str = PODMAN_SOCKET) -> bool:
    """True if the Docker API on the socket answers /_ping."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(2)
    try:
        sock.connect(socket_path)
        conn = http.client.HTTPConnection("podman")
        conn.sock = sock
        conn.request("GET", "/_ping")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        sock.close()


class PodmanService:
    """The podman API service on PODMAN_SOCKET: reused when it answers, started otherwise (and
    then stopped by stop())."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None

    def ensure(self) -> None:
        if podman_answers():
            return
        Path(PODMAN_SOCKET).parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(PODMAN_SOCKET)  # a stale socket of a service that is gone
        log = open(self.log_dir / "podman-service.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{PODMAN_SOCKET}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        log.close()
        wait_for(lambda: podman_answers() or self.process.poll() is not None, timeout=30,
                 what="the podman API service")
        if not podman_answers():
            raise RuntimeError(f"podman system service exited; see {self.log_dir}/podman-service.log")

    def stop(self) -> None:
        if self.process is not None:
            kill_tree(self.process, signal.SIGTERM)
            self.process = None


def local_docker():
    """A Docker SDK client on the podman socket itself (to inspect what the panel made)."""
    import docker

    return docker.DockerClient(base_url=f"unix://{PODMAN_SOCKET}", version="1.41", timeout=60)


# --- The relay image: the real derper ---------------------------------------------------------

def relay_image() -> str:
    """localhost/derp-test:<version>-<hash of the derper binary>: a new tag for a new build."""
    derper = tailscale_bin.binary("derper")
    digest = hashlib.sha256(derper.read_bytes()).hexdigest()[:12]
    return f"{RELAY_REPOSITORY}:{tailscale_bin.versions()['TAILSCALE_VERSION']}-{digest}"


def ensure_relay_image() -> str:
    """Import the relay image (derper alone on an empty root, as tests/relay/README.md describes)
    unless it exists already."""
    tag = relay_image()
    lock_path = Path(tempfile.gettempdir()) / "derp-test-image.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs at once build it once
        if subprocess.run(["podman", "image", "exists", tag], check=False).returncode == 0:
            return tag
        with tempfile.TemporaryDirectory() as work:
            archive = Path(work) / "rootfs.tar"
            _write_rootfs(archive)
            subprocess.run(["podman", "import", "--quiet",
                            "--change", 'ENTRYPOINT ["/derper"]',
                            "--change", "STOPSIGNAL SIGTERM",
                            str(archive), tag], check=True, stdout=subprocess.DEVNULL)
    return tag


def _write_rootfs(archive: Path) -> None:
    """/derper, the CA bundle, and the directories derper writes to (its key in /var/lib/derper)."""
    def directory(name, mode=0o755):
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, 0
        return info

    with tarfile.open(archive, "w") as tar:
        for name in ("etc", "etc/ssl", "etc/ssl/certs", "var", "var/lib", "var/lib/derper",
                     "proc", "sys", "dev"):
            tar.addfile(directory(name))
        tar.addfile(directory("tmp", mode=0o1777))
        tar.add(tailscale_bin.binary("derper"), arcname="derper")
        if CA_BUNDLE.exists():
            tar.add(CA_BUNDLE, arcname="etc/ssl/certs/ca-certificates.crt")


# --- Keys ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyPair:
    private_openssh: str
    public_line: str  # "ssh-ed25519 AAAA…"


def new_key_pair() -> KeyPair:
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return KeyPair(private, public)


# --- OpenSSH daemons on loopback --------------------------------------------------------------

def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class SshServer:
    """One sshd on its own loopback address, with its own host key; root logs in with
    `client_key` (authorized_keys of its own, so nothing of the machine's ~/.ssh is touched)."""

    address: str
    directory: Path
    client_key: KeyPair
    port: int = 0
    host_key: KeyPair | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, *, new_host_key: bool = False) -> "SshServer":
        self.directory.mkdir(parents=True, exist_ok=True)
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation directory
        if self.host_key is None or new_host_key:
            self.host_key = new_key_pair()
            host_key_file = self.directory / "host_key"
            host_key_file.write_text(self.host_key.private_openssh)
            host_key_file.chmod(0o600)
        (self.directory / "authorized_keys").write_text(self.client_key.public_line + "\n")
        # A home of its own, like a fresh server's: the shell sshd starts for each command
        # reads ~/.bashrc, and this machine's root may have a slow one.
        (self.directory / "home").mkdir(exist_ok=True)
        self.port = self.port or free_port(self.address)
        self.process = subprocess.Popen(
            [SSHD, "-D", "-f", "/dev/null", "-h", str(self.directory / "host_key"),
             "-p", str(self.port), "-E", str(self.directory / "sshd.log"),
             "-o", f"ListenAddress={self.address}",
             "-o", "PermitRootLogin=prohibit-password",
             "-o", f"PidFile={self.directory / 'sshd.pid'}",
             "-o", f"AuthorizedKeysFile={self.directory / 'authorized_keys'}",
             "-o", "StrictModes=no", "-o", "UsePAM=no", "-o", "UseDNS=no",
             "-o", f"SetEnv=HOME={self.directory / 'home'}",
             "-o", "Subsystem=sftp internal-sftp",
             "-o", "MaxSessions=64", "-o", "MaxStartups=64:30:128"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.process.poll() is not None or tcp_open(self.address, self.port),
                 timeout=10, what=f"sshd on {self.address}:{self.port}")
        if self.process.poll() is not None:
            raise RuntimeError(f"sshd on {self.address}:{self.port} exited; "
                               f"see {self.directory / 'sshd.log'}")
        return self

    def stop(self) -> None:
        """Gone at once, with every session it serves (an SSH cut, as the panel sees it)."""
        if self.process is not None:
            kill_tree(self.process)
            self.process = None

    def restart(self, *, new_host_key: bool = False) -> "SshServer":
        self.stop()
        return self.start(new_host_key=new_host_key)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class LoopbackFleet:
    """Hands out sshd "servers" on 127.0.0.2, 127.0.0.3, … and disjoint relay port blocks."""

    BLOCK = 20

    def __init__(self, directory: Path, *, first_address: int = 2, first_port: int = 21000):
        self.directory = directory
        self.client_key = new_key_pair()
        self.servers: list[SshServer] = []
        self._next_address = first_address
        self._next_port = first_port + (os.getpid() % 50) * 200  # parallel runs differ

    def ssh_server(self) -> SshServer:
        address = f"127.0.0.{self._next_address}"
        self._next_address += 1
        server = SshServer(address=address, directory=self.directory / f"sshd-{address}",
                           client_key=self.client_key)
        self.servers.append(server.start())
        return server

    def port_block(self, size: int = BLOCK) -> tuple[int, int]:
        """A block of relay ports that nothing on the host listens on now."""
        while True:
            start, self._next_port = self._next_port, self._next_port + size
            if self._next_port > 32000:
                self._next_port = 21000
            if not any(tcp_open("127.0.0.1", port) for port in range(start, start + size)):
                return start, start + size - 1

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()


# --- The panel's side: servers added the real way ---------------------------------------------

class Fleet:
    """Servers added through apps.servers.services.add_server against `loopback`'s sshds, and a
    look at their containers through podman's own socket. Django must be set up."""

    def __init__(self, loopback: LoopbackFleet, *, actor):
        self.loopback = loopback
        self.actor = actor
        self.servers = []  # every server added, for clean-up
        self._sshd: dict[int, SshServer] = {}
        self.docker = local_docker()

    def new_server(self, sshd: SshServer | None = None, **fields):
        """NewServer data for `sshd` (a new one by default), with a port block of its own."""
        from apps.servers.services import NewServer

        sshd = sshd or self.loopback.ssh_server()
        start, end = self.loopback.port_block()
        data = {"name": f"srv-{sshd.address}", "public_ip": sshd.address,
                "ssh_secret": self.loopback.client_key.private_openssh, "ssh_port": sshd.port,
                "port_range_start": start, "port_range_end": end, "max_containers": 10}
        data.update(fields)
        return NewServer(**data), sshd

    def add(self, count: int = 1, **fields) -> list:
        return [self.add_one(**fields) for _ in range(count)]

    def add_one(self, sshd: SshServer | None = None, **fields):
        from apps.servers.services import add_server

        data, sshd = self.new_server(sshd, **fields)
        server = add_server(actor=self.actor, data=data)
        self.servers.append(server)
        self._sshd[server.pk] = sshd
        return server

    def sshd(self, server) -> SshServer:
        return self._sshd[server.pk]

    def containers(self, server=None, *, every_server: bool = False) -> list:
        """This panel's relay containers (of one server, or of every server added here)."""
        from django.conf import settings

        from apps.containers.engine import LABEL_PANEL, LABEL_SERVER

        pks = {str(s.pk) for s in ([server] if server is not None else self.servers)}
        found = self.docker.containers.list(all=True, filters={
            "label": f"{LABEL_PANEL}={settings.PANEL_ID}"})
        return [c for c in found if c.labels.get(LABEL_SERVER) in pks]

    def container(self, instance):
        """The instance's container as podman sees it (docker.errors.NotFound if there is none)."""
        return self.docker.containers.get(instance.container_name)

    def remove_containers(self) -> None:
        """Teardown: this run's containers on the servers added here go, and the client closes."""
        for container in self.containers():
            with contextlib.suppress(Exception):
                container.remove(force=True)
        self.docker.close()
