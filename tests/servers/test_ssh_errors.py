"""SSH failures in plain words: each kind the driver reports (credentials refused, host key
mismatch, timeout, nothing answering, a name that does not resolve) is explained on the add
operation's page in the operator's words, never in the SSH library's; and the credential typed
into the add form reaches neither the logs nor the audit log."""

import logging
import socket

import pytest

from apps.audit.models import AuditEvent
from apps.operations.models import Operation
from apps.servers import drivers
from apps.servers.models import Server
from tests.conftest import signed_in_client
from tests.servers.conftest import CLIENT_KEY

RAW = "paramiko.ssh_exception.SSHException: Error reading SSH protocol banner[Errno 104]"

EXPLAINED = {
    "auth_failed": "127.0.0.2:2222 refused the SSH credentials: check the SSH user",
    "host_key_mismatch": "127.0.0.2:2222 presented an SSH host key other than the expected one",
    "timeout": "127.0.0.2:2222 stopped answering in time",
    "unreachable": "no SSH server answered at 127.0.0.2:2222",
    "name_unresolved": "The name 127.0.0.2 could not be resolved",
}


@pytest.mark.parametrize("code", sorted(EXPLAINED))
def test_each_kind_of_ssh_failure_is_explained_without_the_drivers_text(
        fleet_admin, remote, new_server_data, run_operations, code):
    error_class = drivers.HostKeyMismatch if code == "host_key_mismatch" else drivers.RemoteError
    kwargs = {} if code == "host_key_mismatch" else {"transient": code != "auth_failed",
                                                      "code": code}
    remote.fetch_error = error_class(RAW, **kwargs)
    ops = signed_in_client(fleet_admin)

    ops.post("/ops/servers/add/", new_server_data)
    run_operations()

    operation = Operation.objects.get(kind="add_server")
    page = ops.get(f"/ops/operations/{operation.pk}/").content.decode()
    assert EXPLAINED[code] in page
    assert "paramiko" not in page and "Errno" not in page
    assert "paramiko" not in operation.error
    assert not Server.objects.exists()


def test_a_name_that_does_not_resolve_is_its_own_kind(make_server):
    server = make_server()
    error = drivers._translate(socket.gaierror(-2, "Name or service not known"), server)

    assert (error.code, error.transient) == ("name_unresolved", True)


def test_the_typed_credential_reaches_neither_the_logs_nor_the_audit(
        fleet_admin, remote, new_server_data, run_operations, caplog):
    remote.fetch_error = drivers.RemoteError(RAW, transient=False, code="auth_failed")
    ops = signed_in_client(fleet_admin)
    secret_line = CLIENT_KEY.splitlines()[1]

    with caplog.at_level(logging.DEBUG):
        ops.post("/ops/servers/add/", {**new_server_data, "max_containers": 0})  # refused at once
        ops.post("/ops/servers/add/", new_server_data)  # accepted, then refused by the server
        run_operations()

    assert secret_line not in caplog.text
    assert AuditEvent.objects.filter(action="servers.add_failed").exists()
    for event in AuditEvent.objects.all():
        assert secret_line not in str(event.details)
    assert secret_line not in Operation.objects.get().error + str(Operation.objects.get().args)
