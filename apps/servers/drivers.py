"""How the panel reaches a server: SSH (fabric) for host commands and files, and the Docker API
tunnelled through the same SSH credentials. Only services call this module.

Every connection pins the server's host key: an unknown or changed key is refused. Commands are
argument lists joined with shlex quoting, so no value reaches a shell unescaped.
"""

import base64
import contextlib
import hashlib
import io
import shlex
import socket
import threading

import docker
import docker.errors
import paramiko
from django.conf import settings
from docker.transport.sshconn import SSHConnection, SSHConnectionPool, SSHHTTPAdapter
from fabric import Config, Connection
from invoke.exceptions import CommandTimedOut, UnexpectedExit

from .models import Server, SshAuth


class RemoteError(Exception):
    """A remote operation failed. `transient`: trying again later may work."""

    def __init__(self, message: str, *, transient: bool, code: str = "remote_error"):
        super().__init__(message)
        self.transient = transient
        self.code = code


class HostKeyMismatch(RemoteError):
    def __init__(self, message: str):
        super().__init__(message, transient=False, code="host_key_mismatch")


# --- Host keys -------------------------------------------------------------------------------

def fetch_host_key(host: str, port: int, *, timeout: float | None = None) -> str:
    """The key the server presents now, as "<type> <base64>" (for pinning on add)."""
    from . import addresses

    timeout = timeout or settings.SSH_CONNECT_TIMEOUT
    try:  # dial the address that passed the check, so a name re-pointed since cannot swap it
        address = addresses.allowed_addresses(host, field="ssh_host")[0]
    except addresses.AddressNotAllowed as exc:
        raise RemoteError(str(exc.message), transient=False, code=exc.code) from None
    # One answer for every way of not finding an SSH server (refused, timed out, closed, not
    # SSH): the add form must not work as a port scanner.
    unreachable = RemoteError(f"no SSH server answered at {host}:{port}", transient=True,
                              code="unreachable")
    try:
        sock = socket.create_connection((str(address), port), timeout=timeout)
    except OSError:
        raise unreachable from None
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        return f"{key.get_name()} {key.get_base64()}"
    except (paramiko.SSHException, OSError, EOFError):
        raise unreachable from None
    finally:
        transport.close()


def host_key_fingerprint(host_key: str) -> str:
    """OpenSSH's "SHA256:…" fingerprint of a "<type> <base64>" key."""
    blob = base64.b64decode(host_key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _parse_host_key(host_key: str) -> paramiko.PKey:
    key_type, blob = host_key.split()[:2]
    return paramiko.PKey.from_type_string(key_type, base64.b64decode(blob))


def _known_hosts_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def load_private_key(pem: str) -> paramiko.PKey:
    """A private key in OpenSSH or PEM form (ed25519, ECDSA or RSA)."""
    last_error = None
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(pem))
        except (paramiko.SSHException, ValueError) as exc:
            last_error = exc
    raise RemoteError(f"not a usable private key ({last_error})", transient=False, code="bad_key")


def _auth_kwargs(server: Server) -> dict:
    secret = server.ssh_secret()
    auth = {"look_for_keys": False, "allow_agent": False,
            "timeout": settings.SSH_CONNECT_TIMEOUT, "banner_timeout": settings.SSH_CONNECT_TIMEOUT,
            "auth_timeout": settings.SSH_CONNECT_TIMEOUT}
    if server.ssh_auth == SshAuth.KEY:
        auth["pkey"] = load_private_key(secret)
    else:
        auth["password"] = secret
    return auth


def _pin(client: paramiko.SSHClient, server: Server) -> None:
    """Trust exactly the pinned key for this host: nothing from ~/.ssh, nothing new."""
    client._system_host_keys.clear()  # paramiko offers no public way to drop them
    client.get_host_keys().clear()
    client.get_host_keys().add(_known_hosts_name(server.ssh_host, server.ssh_port),
                               server.ssh_host_key.split()[0], _parse_host_key(server.ssh_host_key))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())


def _translate(exc: Exception, server: Server) -> RemoteError:
    where = f"{server.ssh_user}@{server.ssh_host}:{server.ssh_port}"
    if isinstance(exc, RemoteError):
        return exc
    if isinstance(exc, paramiko.BadHostKeyException):
        return HostKeyMismatch(f"{where} presented a different host key than the one pinned; "
                               "refusing to connect (re-pin only if the server was reinstalled)")
    if isinstance(exc, paramiko.AuthenticationException):
        return RemoteError(f"{where} refused the credentials", transient=False, code="auth_failed")
    if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
        return HostKeyMismatch(f"{where} presented an unknown host key")
    if isinstance(exc, socket.gaierror):
        return RemoteError(f"{server.ssh_host} does not resolve: {exc}", transient=True,
                           code="name_unresolved")
    if isinstance(exc, CommandTimedOut | socket.timeout | TimeoutError):
        return RemoteError(f"{where} timed out", transient=True, code="timeout")
    if isinstance(exc, paramiko.SSHException | OSError | EOFError):
        return RemoteError(f"{where} unreachable: {exc}", transient=True, code="unreachable")
    if isinstance(exc, docker.errors.ImageNotFound):
        return RemoteError(f"image missing on {where}: {exc.explanation}", transient=False,
                           code="image_missing")
    if isinstance(exc, docker.errors.APIError):
        transient = exc.status_code is None or exc.status_code >= 500
        return RemoteError(f"container engine on {where}: {exc.explanation or exc}",
                           transient=transient, code="engine_error")
    if isinstance(exc, docker.errors.DockerException):
        return RemoteError(f"container engine on {where}: {exc}", transient=True,
                           code="engine_error")
    return RemoteError(f"{where}: {type(exc).__name__}: {exc}", transient=True)


# --- Host commands and files (fabric) --------------------------------------------------------

# One SSH connection per server (and per version of its connection settings), opened on first use
# and kept: each command is a channel on it, so a command costs one round trip, not a handshake.
_connections: dict[tuple, tuple[Connection, threading.Lock]] = {}
_connections_lock = threading.Lock()


def _connection_key(server: Server) -> tuple:
    return (server.pk, server.ssh_host, server.ssh_port, server.ssh_user, server.ssh_host_key,
            server.ssh_secret_encrypted)


def _connection(server: Server) -> Connection:
    config = Config(overrides={"load_ssh_configs": False,
                               "timeouts": {"command": settings.SSH_COMMAND_TIMEOUT}})
    connection = Connection(server.ssh_host, user=server.ssh_user, port=server.ssh_port,
                            config=config, connect_kwargs=_auth_kwargs(server))
    _pin(connection.client, server)
    return connection


def _drop_connections(server: Server, only: Connection | None = None) -> None:
    with _connections_lock:
        stale = [k for k, (c, _lock) in _connections.items()
                 if k[0] == server.pk and (only is None or c is only)]
        dropped = [_connections.pop(k)[0] for k in stale]
    for connection in dropped:
        _close_quietly(connection)


@contextlib.contextmanager
def _session(server: Server):
    """The server's open SSH connection. A failure other than a command's own exit status drops
    it, so that the next call connects afresh (and meets a changed host key, say)."""
    key = _connection_key(server)
    with _connections_lock:
        entry = _connections.get(key)
        stale = [k for k in _connections if k[0] == server.pk and k != key] if entry is None else []
        dropped = [_connections.pop(k)[0] for k in stale]
        if entry is None:
            entry = _connections[key] = (_connection(server), threading.Lock())
    for old in dropped:
        _close_quietly(old)
    connection, opening = entry
    try:
        with opening:
            if not connection.is_connected:
                connection.open()
                connection.transport.set_keepalive(30)
        yield connection
    except UnexpectedExit:
        raise
    except BaseException:
        _drop_connections(server, only=connection)
        raise


def run(server: Server, argv: list[str], *, check: bool = True) -> str:
    """Run one command on the server; each argument is quoted. Returns stdout."""
    command = shlex.join(str(arg) for arg in argv)
    try:
        with _session(server) as connection:
            result = connection.run(command, hide=True, warn=not check, in_stream=False)
    except UnexpectedExit as exc:
        raise RemoteError(f"`{argv[0]}` failed on {server.name} (exit {exc.result.exited}): "
                          f"{exc.result.stderr.strip()[:500]}", transient=False,
                          code="command_failed") from exc
    except Exception as exc:
        raise _translate(exc, server) from exc
    return result.stdout


def stream_to(server: Server, argv: list[str], chunks) -> int:
    """Run one command on the server with `chunks` (an iterable of bytes) as its standard input;
    returns once the command has read it all and exited. Returns the bytes sent."""
    command = shlex.join(str(arg) for arg in argv)
    sent = 0
    try:
        with _session(server) as connection:
            channel = connection.client.get_transport().open_session(
                timeout=settings.SSH_CONNECT_TIMEOUT)
            try:
                channel.settimeout(settings.SSH_COMMAND_TIMEOUT)
                channel.exec_command(command)
                try:
                    for chunk in chunks:
                        channel.sendall(chunk)
                        sent += len(chunk)
                    channel.shutdown_write()
                except OSError:
                    if not channel.status_event.wait(1):
                        raise
                    # The command stopped reading because it exited: its status says why.
                if not channel.status_event.wait(settings.SSH_COMMAND_TIMEOUT):
                    raise TimeoutError("no exit status")
                status = channel.exit_status
                stderr = channel.recv_stderr(4096).decode(errors="replace") if status else ""
            finally:
                channel.close()
    except Exception as exc:
        raise _translate(exc, server) from exc
    if status:
        raise RemoteError(f"`{argv[0]}` failed on {server.name} (exit {status}): "
                          f"{stderr.strip()[:500]}", transient=False, code="command_failed")
    return sent


def put_file(server: Server, remote_path: str, content: bytes, *, mode: int = 0o600) -> None:
    """Write a file on the server (parents created), then chmod it."""
    directory = remote_path.rsplit("/", 1)[0] or "/"
    try:
        with _session(server) as connection:
            connection.run(shlex.join(["mkdir", "-p", directory]), hide=True, in_stream=False)
            with connection.client.open_sftp() as sftp, sftp.open(remote_path, "wb") as remote:
                # The mode is set before the content is written: a key is never readable by others.
                remote.chmod(mode)
                remote.write(content)
    except UnexpectedExit as exc:
        raise RemoteError(f"cannot create {directory} on {server.name}: {exc.result.stderr.strip()}",
                          transient=False, code="command_failed") from exc
    except Exception as exc:
        raise _translate(exc, server) from exc


def remove_path(server: Server, remote_path: str) -> None:
    run(server, ["rm", "-rf", "--", remote_path])


def used_ports(server: Server) -> set[int]:
    """TCP and UDP ports something listens on, as the host sees them (`ss -ltnu`)."""
    output = run(server, ["ss", "-H", "-ltnu"])
    ports = set()
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 5:
            port = fields[4].rsplit(":", 1)[-1]
            if port.isdigit():
                ports.add(int(port))
    return ports


# --- The container engine over SSH -----------------------------------------------------------

class _PinnedSSHAdapter(SSHHTTPAdapter):
    """docker-py's SSH adapter with our credentials, our pinned host key and our dial command."""

    def __init__(self, server: Server, dial_command: str, timeout: int):
        self._server = server
        self._dial_command = dial_command
        super().__init__(f"ssh://{server.ssh_user}@{server.ssh_host}:{server.ssh_port}",
                         timeout=timeout, max_pool_size=4)

    def _create_paramiko_client(self, base_url):
        self.ssh_client = paramiko.SSHClient()
        _pin(self.ssh_client, self._server)
        self.ssh_params = {"hostname": self._server.ssh_host, "port": self._server.ssh_port,
                           "username": self._server.ssh_user, **_auth_kwargs(self._server)}

    def get_connection(self, url, proxies=None):
        with self.pools.lock:
            transport = self.ssh_client.get_transport()
            if transport is None or not transport.is_active() or not transport.is_authenticated():
                # The server went away (or restarted): the pooled channels died with the old
                # transport, so connect anew, which checks the pinned host key again. A refused
                # connect leaves no half-open transport behind for the next call to wait on.
                self.pools.clear()
                try:
                    self._connect()
                except BaseException:
                    self.ssh_client.close()
                    raise
                self.ssh_client.get_transport().set_keepalive(30)
            pool = self.pools.get(url)
            if pool:
                return pool
            pool = _DialPool(self._dial_command, ssh_client=self.ssh_client, timeout=self.timeout,
                             maxsize=self.max_pool_size, host=self.ssh_host)
            self.pools[url] = pool
        return pool


class _DialConnection(SSHConnection):
    """One API connection: a channel running the dial command, stdin/stdout to the socket."""

    def __init__(self, dial_command: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dial_command = dial_command

    def connect(self):
        channel = self.ssh_transport.open_session(timeout=self.timeout)
        channel.settimeout(self.timeout)
        channel.exec_command(self.dial_command)
        self.sock = channel

    def close(self):
        # A channel whose server just went away cannot say goodbye (paramiko raises EOFError);
        # closing it is all that is wanted, including from urllib3's finalizers.
        with contextlib.suppress(Exception):
            super().close()


class _DialPool(SSHConnectionPool):
    def __init__(self, dial_command: str, **kwargs):
        super().__init__(**kwargs)
        self.dial_command = dial_command

    def _new_conn(self):
        return _DialConnection(self.dial_command, self.ssh_transport, self.timeout)


_clients: dict[tuple, docker.DockerClient] = {}
_clients_lock = threading.Lock()


def docker_client(server: Server) -> docker.DockerClient:
    """One reused client per server (and per version of its connection settings)."""
    key = (server.pk, server.ssh_host, server.ssh_port, server.ssh_user, server.ssh_host_key,
           server.ssh_secret_encrypted, settings.DOCKER_DIAL_COMMAND)
    with _clients_lock:
        client = _clients.get(key)
        if client is not None:
            return client
        stale = [_clients.pop(k) for k in list(_clients) if k[0] == server.pk]
    for old in stale:
        _close_quietly(old)
    try:
        adapter = _PinnedSSHAdapter(server, settings.DOCKER_DIAL_COMMAND, settings.SSH_COMMAND_TIMEOUT)
        # A client without a transport of its own, then ours mounted: docker-py has no public
        # way to hand it SSH credentials or a pinned key.
        api = docker.APIClient(base_url="http://127.0.0.1:9", version="1.41",
                               timeout=settings.SSH_COMMAND_TIMEOUT)
        api.mount("http+docker://ssh", adapter)
        api.base_url = "http+docker://ssh"
        api._custom_adapter = adapter
        client = docker.DockerClient.__new__(docker.DockerClient)
        client.api = api
    except Exception as exc:
        raise _translate(exc, server) from exc
    with _clients_lock:
        existing = _clients.setdefault(key, client)
    if existing is not client:  # another thread made one meanwhile: use that one
        _close_quietly(client)
    return existing


def _close_quietly(closable) -> None:
    """Close a client or connection whose server may be gone already (closing then fails)."""
    with contextlib.suppress(Exception):
        closable.close()


def _drop_client(server: Server) -> None:
    with _clients_lock:
        stale = [_clients.pop(k) for k in list(_clients) if k[0] == server.pk]
    for client in stale:
        _close_quietly(client)


def forget_client(server: Server) -> None:
    """Close the server's cached engine client and SSH connection (settings changed, or gone)."""
    _drop_client(server)
    _drop_connections(server)


def close_all() -> None:
    """Close every cached client and connection (a worker shutting down; tests between runs)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    with _connections_lock:
        connections = [c for c, _lock in _connections.values()]
        _connections.clear()
    for closable in clients + connections:
        _close_quietly(closable)


def engine_call(server: Server, operation):
    """Run `operation(client)` against the server's engine; errors become RemoteError. A broken
    SSH transport is dropped so the next call reconnects."""
    client = docker_client(server)
    try:
        return operation(client)
    except Exception as exc:
        error = _translate(exc, server)
        if error.transient:
            _drop_client(server)
        raise error from exc
