"""POST /api/server/add with the remote side faked: the request checks the details, saves the
server "being set up" (taking no relays) and answers 202 with the set-up operation; the worker
then pins the host key, checks the engine and uploads the certificate. The credential is stored
encrypted and never shown; a set-up that fails leaves nothing behind, the row included, and the
operation says why."""

import json

import pytest
from django.db import connection

from apps.audit.models import AuditEvent
from apps.containers.engine import cert_dir
from apps.operations.models import Operation
from apps.servers import drivers
from apps.servers.models import Server, ServerStatus
from tests.conftest import token_client
from tests.operations.support import accepted, followed
from tests.servers.conftest import (
    CLIENT_KEY,
    HOST_KEY,
    HOST_KEY_FINGERPRINT,
    OTHER_FINGERPRINT,
)

SECRET_LINE = CLIENT_KEY.splitlines()[1]  # a line of the key's body, unmistakable if it leaks


@pytest.fixture
def api(fleet_admin):
    return token_client(fleet_admin)


def add(api, body) -> dict:
    """POST the server; assert the 202 and return its operation."""
    return accepted(api.post("/api/server/add", body, format="json"), kind="add_server")


def test_adding_a_server_answers_202_and_the_worker_pins_its_host_key(api, remote, fake_engine,
                                                                      new_server_data,
                                                                      run_operations):
    response = api.post("/api/server/add", new_server_data, format="json")

    operation = accepted(response, kind="add_server")
    server = Server.objects.get()
    body = response.json()
    assert body["server"]["id"] == operation["server_id"] == server.pk
    assert body["server"]["status"] == server.status == ServerStatus.SETTING_UP
    assert body["server"]["host_key_fingerprint"] == ""  # not connected yet
    assert remote.calls == [] and fake_engine.calls == []  # the request never dials

    assert run_operations() == 1

    done = followed(api, operation)
    assert done["state"] == "done"
    assert done["result"] == {"server": server.pk, "host_key_fingerprint": HOST_KEY_FINGERPRINT}
    server.refresh_from_db()
    assert server.status == ServerStatus.HEALTHY
    assert (server.ssh_host_key, server.ssh_host, server.ssh_port) == (HOST_KEY, "127.0.0.2", 2222)
    assert server.monthly_quota_bytes == 1000 * 1024**3
    assert server.cert_fingerprint  # an IP-only server: self-signed and pinned
    assert ("fetch_host_key", "127.0.0.2", 2222) in remote.calls
    assert {f"{cert_dir(server)}/127.0.0.2.crt", f"{cert_dir(server)}/127.0.0.2.key"} == set(remote.files)
    assert ("check", server.pk, "") in fake_engine.calls
    shown = api.get(f"/api/server/{server.pk}").json()["server"]
    assert shown["host_key_fingerprint"] == HOST_KEY_FINGERPRINT


def test_a_server_being_set_up_takes_no_relays(api, remote, new_server_data):
    from apps.containers.services import placeable_servers

    add(api, new_server_data)

    assert not placeable_servers().exists()


def test_the_secret_is_never_in_the_answers_or_the_audit_log(api, remote, new_server_data,
                                                            run_operations):
    response = api.post("/api/server/add", new_server_data, format="json")
    operation = accepted(response)
    run_operations()

    assert SECRET_LINE not in response.content.decode()
    assert "ssh_secret" not in response.json()["server"]
    assert SECRET_LINE not in api.get(operation["url"]).content.decode()
    assert SECRET_LINE not in json.dumps(Operation.objects.get().args)
    event = AuditEvent.objects.get(action="servers.added")
    assert SECRET_LINE not in json.dumps(event.details)
    assert event.details["host_key_fingerprint"] == HOST_KEY_FINGERPRINT


def test_the_stored_secret_is_encrypted(api, remote, new_server_data):
    add(api, new_server_data)

    with connection.cursor() as cursor:
        cursor.execute("SELECT ssh_secret_encrypted, cert_key_encrypted FROM servers_server")
        stored, stored_key = cursor.fetchone()
    assert SECRET_LINE not in stored and "PRIVATE KEY" not in stored
    assert "PRIVATE KEY" not in stored_key  # the certificate's key waits encrypted too
    assert Server.objects.get().ssh_secret() == CLIENT_KEY


def test_a_password_server_is_added_too(superadmin, remote, new_server_data, run_operations):
    body = {**new_server_data, "ssh_auth": "password", "ssh_secret": " pass phrase with spaces "}
    api = token_client(superadmin)

    response = api.post("/api/server/add", body, format="json")

    operation = accepted(response)
    assert "pass phrase" not in response.content.decode()
    run_operations()
    assert followed(api, operation)["state"] == "done"
    assert Server.objects.get().ssh_secret() == " pass phrase with spaces "


def test_the_ssh_host_and_port_default_to_the_public_ip_and_22(api, remote, new_server_data):
    body = {k: v for k, v in new_server_data.items() if k not in ("ssh_port", "max_containers")}

    add(api, body)

    server = Server.objects.get()
    assert (server.ssh_host, server.ssh_port, server.max_containers) == ("127.0.0.2", 22, 100)


def test_an_ipv6_server_is_accepted(api, remote, new_server_data):
    body = {**new_server_data, "public_ip": "2001:DB8::0:1"}

    response = api.post("/api/server/add", body, format="json")

    accepted(response)
    assert response.json()["server"]["public_ip"] == "2001:db8::1"


def failed_set_up(api, operation, run_operations) -> dict:
    """Run the set-up; assert it failed for good and the server row went; return the operation."""
    run_operations()
    failed = followed(api, operation)
    assert failed["state"] == "failed", failed
    assert failed["attempts"] == 1  # no retry: the operator corrects the details and adds again
    assert Server.objects.count() == 0
    assert not AuditEvent.objects.filter(action="servers.added").exists()
    assert AuditEvent.objects.filter(action="servers.add_failed").exists()
    return failed


def test_an_unreachable_server_fails_with_a_clear_message_and_nothing_stays(
        api, remote, fake_engine, new_server_data, run_operations):
    remote.fetch_error = drivers.RemoteError("cannot reach 127.0.0.2:2222: connection refused",
                                             transient=True, code="unreachable")
    operation = add(api, new_server_data)

    failed = failed_set_up(api, operation, run_operations)

    assert failed["error_code"] == "unreachable"
    assert "no SSH server answered at 127.0.0.2:2222" in failed["error"]
    assert "cannot reach" not in failed["error"]  # plain words, not the driver's
    assert remote.files == {}
    assert fake_engine.calls == []


def test_a_missing_container_engine_fails_and_nothing_stays(api, remote, fake_engine,
                                                            new_server_data, run_operations):
    fake_engine.fail_next.append(drivers.RemoteError("no engine", transient=True,
                                                     code="engine_error"))
    operation = add(api, new_server_data)

    failed = failed_set_up(api, operation, run_operations)

    assert "no engine" in failed["error"]
    assert remote.files == {}


def test_a_failed_certificate_upload_removes_what_was_put_there(
        api, remote, monkeypatch, new_server_data, run_operations):
    uploads = []

    def put_file(server, remote_path, content, *, mode=0o600):
        if uploads:
            raise drivers.RemoteError("disk full", transient=False, code="command_failed")
        uploads.append(remote_path)
        remote.files[remote_path] = content

    monkeypatch.setattr(drivers, "put_file", put_file)
    operation = add(api, new_server_data)

    failed = failed_set_up(api, operation, run_operations)

    assert "disk full" in failed["error"]
    assert remote.files == {}
    assert any(call[0] == "remove_path" for call in remote.calls)


def test_an_unexpected_host_key_fails_naming_the_key_and_nothing_stays(
        api, remote, fake_engine, new_server_data, run_operations):
    body = {**new_server_data, "expected_host_key_fingerprint": OTHER_FINGERPRINT}
    operation = add(api, body)

    failed = failed_set_up(api, operation, run_operations)

    assert failed["error_code"] == "host_key_mismatch"
    assert HOST_KEY_FINGERPRINT in failed["error"]
    assert fake_engine.calls == [] and remote.files == {}


def test_the_same_details_can_be_added_again_once_a_set_up_failed(
        api, remote, new_server_data, run_operations):
    remote.fetch_error = drivers.RemoteError("cannot reach", transient=True, code="unreachable")
    failed_set_up(api, add(api, new_server_data), run_operations)

    remote.fetch_error = None
    again = add(api, new_server_data)
    run_operations()

    assert followed(api, again)["state"] == "done"
    assert Server.objects.get().status == ServerStatus.HEALTHY


@pytest.mark.parametrize("padding", ["", "="])
def test_the_expected_host_key_lets_the_server_in(api, remote, new_server_data, padding,
                                                  run_operations):
    body = {**new_server_data, "expected_host_key_fingerprint": HOST_KEY_FINGERPRINT + padding}

    operation = add(api, body)
    run_operations()

    assert followed(api, operation)["state"] == "done"
    assert Server.objects.get().status == ServerStatus.HEALTHY
