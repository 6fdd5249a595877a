"""Server fixtures: a fake remote side (SSH drivers monkeypatched, the in-memory container
engine), a valid add request, and servers put straight into the database."""

import dataclasses

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.contrib.auth.models import Permission

from apps.containers.engine import container_name
from apps.containers.models import DerpInstance, InstanceStatus
from apps.servers import drivers
from apps.servers.models import Server


def _key_pair() -> tuple[str, str]:
    """(private key in OpenSSH form, public key as "<type> <base64>")."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, public


CLIENT_KEY, _ = _key_pair()
_, HOST_KEY = _key_pair()
_, OTHER_HOST_KEY = _key_pair()
HOST_KEY_FINGERPRINT = drivers.host_key_fingerprint(HOST_KEY)
OTHER_FINGERPRINT = drivers.host_key_fingerprint(OTHER_HOST_KEY)


@dataclasses.dataclass
class FakeRemote:
    """What the SSH drivers would have done: every call recorded, failures on request."""

    host_key: str = HOST_KEY
    fetch_error: drivers.RemoteError | None = None
    run_error: drivers.RemoteError | None = None
    calls: list = dataclasses.field(default_factory=list)
    files: dict = dataclasses.field(default_factory=dict)


@pytest.fixture
def remote(monkeypatch, fake_engine):
    fake = FakeRemote()

    def fetch_host_key(host, port, *, timeout=None):
        fake.calls.append(("fetch_host_key", host, port))
        if fake.fetch_error:
            raise fake.fetch_error
        return fake.host_key

    def put_file(server, remote_path, content, *, mode=0o600):
        fake.calls.append(("put_file", server.pk, remote_path))
        fake.files[remote_path] = content

    def remove_path(server, remote_path):
        fake.calls.append(("remove_path", server.pk, remote_path))
        for path in [p for p in fake.files if p == remote_path or p.startswith(remote_path + "/")]:
            del fake.files[path]

    def run(server, argv, *, check=True):
        fake.calls.append(("run", server.pk, tuple(argv)))
        if fake.run_error:
            raise fake.run_error
        return ""

    for name, replacement in (("fetch_host_key", fetch_host_key), ("put_file", put_file),
                              ("remove_path", remove_path), ("run", run)):
        monkeypatch.setattr(drivers, name, replacement)
    return fake


def nothing_remote_happened(remote, fake_engine) -> bool:
    return remote.calls == [] and fake_engine.calls == []


@pytest.fixture
def new_server_data() -> dict:
    """A complete, valid POST /api/server/add body (key authentication)."""
    return {"name": "sh-1", "aliyun_account": "13800138000", "public_ip": "127.0.0.2",
            "location": "Shanghai", "region": "cn-shanghai", "ssh_port": 2222, "ssh_user": "root",
            "ssh_auth": "key", "ssh_secret": CLIENT_KEY, "port_range_start": 30000,
            "port_range_end": 30099, "max_containers": 50, "monthly_quota_gb": 1000,
            "quota_reset_day": 5}


@pytest.fixture
def make_server(db):
    """A server row as add_server leaves it (for pages and actions that start from one)."""
    counter = iter(range(10, 250))

    def make(name: str | None = None, **fields) -> Server:
        number = next(counter)
        fields.setdefault("public_ip", f"127.0.1.{number}")
        fields.setdefault("ssh_host", fields["public_ip"])
        fields.setdefault("ssh_port", 2222)
        server = Server(name=name or f"srv-{number}", ssh_host_key=HOST_KEY, **fields)
        server.set_ssh_secret(CLIENT_KEY)
        server.save()
        return server

    return make


@pytest.fixture
def place_relay():
    """A live relay row of `user` on `server` (and its container, when an engine is given)."""

    def place(user, server, *, port: int | None = None, engine=None,
              status: str = InstanceStatus.RUNNING) -> DerpInstance:
        instance = DerpInstance.objects.create(user=user, server=server, status=status,
                                               port=port or server.port_range_start)
        instance.container_name = container_name(instance)
        instance.save(update_fields=["container_name"])
        if engine is not None:
            engine.run_relay(instance)
            engine.calls.clear()
        return instance

    return place


def refused(response, status: int, code: str | None = None) -> dict:
    """Assert the envelope of a refusal and return its error."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert body["success"] is False
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


SERVER_GRANTS = ("servers.add_server", "servers.delete_server")


def grant(user, *labels: str):
    """What a super admin does in the admin: give one person permissions beyond their role."""
    for label in labels:
        app_label, codename = label.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label,
                                                         codename=codename))
    return user


@pytest.fixture
def fleet_admin(admin_user):
    """An admin a super admin allowed to add and delete servers (the admin role alone may not)."""
    return grant(admin_user, *SERVER_GRANTS)
