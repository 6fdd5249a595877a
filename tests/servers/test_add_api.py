"""POST /api/server/add with the remote side faked: the host key is pinned and returned, the
credential is stored encrypted and never shown; a remote failure leaves nothing behind."""

import json

import pytest
from django.db import connection

from apps.audit.models import AuditEvent
from apps.containers.engine import cert_dir
from apps.servers import drivers
from apps.servers.models import Server
from tests.conftest import token_client
from tests.servers.conftest import (
    CLIENT_KEY,
    HOST_KEY,
    HOST_KEY_FINGERPRINT,
    OTHER_FINGERPRINT,
    refused,
)

SECRET_LINE = CLIENT_KEY.splitlines()[1]  # a line of the key's body, unmistakable if it leaks


def test_adding_a_server_pins_its_host_key_and_answers_201(admin_user, remote, fake_engine,
                                                           new_server_data):
    response = token_client(admin_user).post("/api/server/add", new_server_data, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["success"] is True
    assert body["host_key_fingerprint"] == HOST_KEY_FINGERPRINT
    server = Server.objects.get()
    assert body["server"]["id"] == server.pk
    assert body["server"]["host_key_fingerprint"] == HOST_KEY_FINGERPRINT
    assert (server.ssh_host_key, server.ssh_host, server.ssh_port) == (HOST_KEY, "127.0.0.2", 2222)
    assert server.monthly_quota_bytes == 1000 * 1024**3
    assert server.cert_fingerprint  # an IP-only server: self-signed and pinned
    assert ("fetch_host_key", "127.0.0.2", 2222) in remote.calls
    assert {f"{cert_dir(server)}/127.0.0.2.crt", f"{cert_dir(server)}/127.0.0.2.key"} == set(remote.files)
    assert ("check", server.pk, "") in fake_engine.calls


def test_the_secret_is_never_in_the_answer_or_the_audit_log(admin_user, remote, new_server_data):
    response = token_client(admin_user).post("/api/server/add", new_server_data, format="json")

    assert response.status_code == 201
    assert SECRET_LINE not in response.content.decode()
    assert "ssh_secret" not in response.json()["server"]
    event = AuditEvent.objects.get(action="servers.added")
    assert SECRET_LINE not in json.dumps(event.details)
    assert event.details["host_key_fingerprint"] == HOST_KEY_FINGERPRINT


def test_the_stored_secret_is_encrypted(admin_user, remote, new_server_data):
    token_client(admin_user).post("/api/server/add", new_server_data, format="json")

    with connection.cursor() as cursor:
        cursor.execute("SELECT ssh_secret_encrypted FROM servers_server")
        (stored,) = cursor.fetchone()
    assert SECRET_LINE not in stored and "PRIVATE KEY" not in stored
    assert Server.objects.get().ssh_secret() == CLIENT_KEY


def test_a_password_server_is_added_too(superadmin, remote, new_server_data):
    body = {**new_server_data, "ssh_auth": "password", "ssh_secret": " pass phrase with spaces "}

    response = token_client(superadmin).post("/api/server/add", body, format="json")

    assert response.status_code == 201, response.content
    assert Server.objects.get().ssh_secret() == " pass phrase with spaces "
    assert "pass phrase" not in response.content.decode()


def test_the_ssh_host_and_port_default_to_the_public_ip_and_22(admin_user, remote,
                                                                new_server_data):
    body = {k: v for k, v in new_server_data.items() if k not in ("ssh_port", "max_containers")}

    response = token_client(admin_user).post("/api/server/add", body, format="json")

    assert response.status_code == 201, response.content
    server = Server.objects.get()
    assert (server.ssh_host, server.ssh_port, server.max_containers) == ("127.0.0.2", 22, 100)


def test_an_ipv6_server_is_accepted(admin_user, remote, new_server_data):
    body = {**new_server_data, "public_ip": "2001:DB8::0:1"}

    response = token_client(admin_user).post("/api/server/add", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["server"]["public_ip"] == "2001:db8::1"


def test_an_unreachable_server_is_a_502_with_a_clear_message_and_nothing_saved(
        admin_user, remote, fake_engine, new_server_data):
    remote.fetch_error = drivers.RemoteError("cannot reach 127.0.0.2:2222: connection refused",
                                             transient=True, code="unreachable")

    response = token_client(admin_user).post("/api/server/add", new_server_data, format="json")

    error = refused(response, 502, "server_unreachable")
    assert "connection refused" in error["message"]
    assert Server.objects.count() == 0
    assert remote.files == {}
    assert fake_engine.calls == []
    assert not AuditEvent.objects.filter(action="servers.added").exists()


def test_a_missing_container_engine_is_a_502_and_takes_nothing_back_that_stays(
        admin_user, remote, fake_engine, new_server_data):
    fake_engine.fail_next.append(drivers.RemoteError("no engine", transient=True,
                                                     code="engine_error"))

    response = token_client(admin_user).post("/api/server/add", new_server_data, format="json")

    refused(response, 502)
    assert Server.objects.count() == 0
    assert remote.files == {}


def test_a_failed_certificate_upload_removes_what_was_put_there(
        admin_user, remote, monkeypatch, new_server_data):
    uploads = []

    def put_file(server, remote_path, content, *, mode=0o600):
        if uploads:
            raise drivers.RemoteError("disk full", transient=False, code="command_failed")
        uploads.append(remote_path)
        remote.files[remote_path] = content

    monkeypatch.setattr(drivers, "put_file", put_file)

    response = token_client(admin_user).post("/api/server/add", new_server_data, format="json")

    refused(response, 502)
    assert Server.objects.count() == 0
    assert remote.files == {}
    assert any(call[0] == "remove_path" for call in remote.calls)


def test_an_unexpected_host_key_is_a_409_and_nothing_saved(admin_user, remote, fake_engine,
                                                          new_server_data):
    body = {**new_server_data, "expected_host_key_fingerprint": OTHER_FINGERPRINT}

    response = token_client(admin_user).post("/api/server/add", body, format="json")

    error = refused(response, 409, "host_key_mismatch")
    assert HOST_KEY_FINGERPRINT in error["message"]
    assert Server.objects.count() == 0
    assert fake_engine.calls == [] and remote.files == {}


@pytest.mark.parametrize("padding", ["", "="])
def test_the_expected_host_key_lets_the_server_in(admin_user, remote, new_server_data, padding):
    body = {**new_server_data, "expected_host_key_fingerprint": HOST_KEY_FINGERPRINT + padding}

    response = token_client(admin_user).post("/api/server/add", body, format="json")

    assert response.status_code == 201
