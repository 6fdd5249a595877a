"""A real tailnet on loopback: Headscale as the control server and tailscaled nodes in userspace
networking, each with its own state directory and socket, every packet through DERP
(TS_DEBUG_ALWAYS_USE_DERP), so a ping between two nodes on one machine must cross a relay.

No Django imports. Every process started here is stopped by its own PID.
"""

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests import tailscale_bin
from tests.fleet.infra import free_port, kill_tree, tcp_open, wait_for

PARTS = ("headscale", "tailscaled", "tailscale")


def _start(command: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                env={**os.environ, **(env or {})}, start_new_session=True)


@dataclass
class Headscale:
    """Headscale on 127.0.0.1 whose only DERP regions come from `derp_url` (no embedded relay,
    no default map), fetched again every `refresh` (a Go duration)."""

    directory: Path
    derp_url: str
    refresh: str = "2s"
    port: int = 0
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.directory / "config.yaml"

    def start(self) -> "Headscale":
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port("127.0.0.1")
        config = {
            "server_url": self.url, "listen_addr": f"127.0.0.1:{self.port}",
            "metrics_listen_addr": f"127.0.0.1:{free_port('127.0.0.1')}",
            "grpc_listen_addr": f"127.0.0.1:{free_port('127.0.0.1')}",
            "noise": {"private_key_path": str(self.directory / "noise.key")},
            "prefixes": {"v4": "100.64.0.0/10", "v6": "fd7a:115c:a1e0::/48"},
            "derp": {"server": {"enabled": False}, "urls": [self.derp_url], "paths": [],
                     "auto_update_enabled": True, "update_frequency": self.refresh},
            "disable_check_updates": True,
            "database": {"type": "sqlite", "sqlite": {"path": str(self.directory / "db.sqlite")}},
            "dns": {"magic_dns": False, "override_local_dns": False, "nameservers": {"global": []}},
            "unix_socket": str(self.directory / "headscale.sock"), "unix_socket_permission": "0770",
            "logtail": {"enabled": False},
        }
        self.config.write_text(yaml.safe_dump(config))
        self.process = _start([str(tailscale_bin.binary("headscale")), "serve", "-c", str(self.config)],
                              self.directory / "headscale.log")
        wait_for(lambda: self.process.poll() is not None or tcp_open("127.0.0.1", self.port),
                 timeout=30, what="headscale to listen")
        if self.process.poll() is not None:
            raise RuntimeError(f"headscale exited; see {self.directory / 'headscale.log'}")
        return self

    def cli(self, *args: str) -> dict | list:
        done = subprocess.run([str(tailscale_bin.binary("headscale")), "-c", str(self.config),
                               *args, "-o", "json"], capture_output=True, text=True, timeout=30,
                              check=True)
        return json.loads(done.stdout)

    def auth_key(self, user: str) -> str:
        """A reusable pre-auth key of a new user `user`."""
        created = self.cli("users", "create", user)
        return self.cli("preauthkeys", "create", "--user", str(created["id"]), "--reusable",
                        "--expiration", "1h")["key"]

    def stop(self) -> None:
        if self.process is not None:
            kill_tree(self.process)
            self.process = None


@dataclass
class Node:
    """One tailscaled in userspace networking, its traffic forced through DERP."""

    directory: Path
    name: str
    ip: str = ""  # its first tailnet address, once it is up
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def socket(self) -> Path:
        return self.directory / "tailscaled.sock"

    def start(self) -> "Node":
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = _start(
            [str(tailscale_bin.binary("tailscaled")), "--tun=userspace-networking",
             f"--state={self.directory / 'state'}", f"--socket={self.socket}",
             f"--statedir={self.directory}", "--port=0", "--no-logs-no-support"],
            self.directory / "tailscaled.log", env={"TS_DEBUG_ALWAYS_USE_DERP": "true"})
        wait_for(lambda: self.process.poll() is not None or self.socket.exists(), timeout=30,
                 what=f"tailscaled {self.name}'s socket")
        if self.process.poll() is not None:
            raise RuntimeError(f"tailscaled exited; see {self.directory / 'tailscaled.log'}")
        return self

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([str(tailscale_bin.binary("tailscale")), f"--socket={self.socket}",
                               *args], capture_output=True, text=True, timeout=timeout, check=False)

    def restart(self) -> "Node":
        """Stopped and started again on the same state: logged in still, new relay connections."""
        self.stop()
        return self.start()

    def up(self, headscale: Headscale, auth_key: str) -> None:
        done = self.cli("up", f"--login-server={headscale.url}", f"--authkey={auth_key}",
                        f"--hostname={self.name}")
        if done.returncode != 0:
            raise RuntimeError(f"tailscale up ({self.name}) failed: {done.stderr}")
        self.ip = wait_for(lambda: self.status()["Self"].get("TailscaleIPs"), timeout=30,
                           what=f"{self.name}'s tailnet address")[0]

    def status(self) -> dict:
        return json.loads(self.cli("status", "--json").stdout)

    @property
    def node_key(self) -> str:
        return self.status()["Self"]["PublicKey"]

    def ping(self, other: "Node", *, count: int = 1, timeout: float = 3) -> str:
        """What `tailscale ping` prints: "pong from … via DERP(<region code>) in …" on success."""
        done = self.cli("ping", f"--c={count}", f"--timeout={int(timeout)}s", other.ip,
                        timeout=timeout * count + 10)
        return done.stdout + done.stderr

    def stop(self) -> None:
        if self.process is not None:
            kill_tree(self.process)
            self.process = None


def join(nodes: list[Node], headscale: Headscale, auth_key: str) -> None:
    """`tailscale up` on every node at once (each waits for the control server in turn)."""
    with ThreadPoolExecutor(len(nodes)) as pool:
        for done in [pool.submit(node.up, headscale, auth_key) for node in nodes]:
            done.result()
