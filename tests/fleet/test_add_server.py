"""Adding a server over real SSH: the host key is pinned, the engine checked, the certificate
uploaded; an unreachable host or a refused key leaves nothing behind. Both ways: the synchronous
service (fixtures use it) and the ADD_SERVER operation a request queues for a worker."""

import os
import stat

import pytest
from django.utils import translation

from apps.audit.models import AuditEvent
from apps.containers.engine import cert_dir
from apps.operations.models import OperationState
from apps.servers import certs, drivers, requests
from apps.servers.models import Server, ServerStatus
from apps.servers.services import add_server
from derpmgr.errors import ServiceError
from tests.fleet import infra


def test_add_server_pins_the_host_key_and_uploads_the_certificate(fleet):
    server = fleet.add_one()
    sshd = fleet.sshd(server)

    saved = Server.objects.get(pk=server.pk)
    assert saved.ssh_host_key.split()[:2] == sshd.host_key.public_line.split()[:2]
    directory = cert_dir(saved)
    with open(f"{directory}/{saved.public_ip}.crt", "rb") as uploaded:
        cert = uploaded.read()
    key_mode = stat.S_IMODE(os.stat(f"{directory}/{saved.public_ip}.key").st_mode)
    assert key_mode == 0o600
    assert saved.cert_fingerprint == certs.sha256_raw(cert)
    event = AuditEvent.objects.get(action="servers.added", target_id=str(server.pk))
    assert event.details["host_key_fingerprint"] == drivers.host_key_fingerprint(saved.ssh_host_key)


def test_an_unreachable_host_is_a_clear_error_and_nothing_is_saved(fleet, loopback):
    data, sshd = fleet.new_server()
    sshd.stop()

    with pytest.raises(ServiceError) as refused:
        add_server(actor=fleet.actor, data=data)

    assert refused.value.code == "server_unreachable"
    assert f"{sshd.address}:{sshd.port}" in str(refused.value.message)
    assert not Server.objects.exists()


def test_a_refused_key_is_a_clear_error_and_nothing_is_left_on_the_server(fleet, settings):
    data, _sshd = fleet.new_server(ssh_secret=infra.new_key_pair().private_openssh)

    with pytest.raises(ServiceError) as refused, translation.override("en"):
        add_server(actor=fleet.actor, data=data)

    assert refused.value.code == "auth_failed"
    assert "refused the SSH credentials" in str(refused.value.message)
    assert "Authentication failed" not in str(refused.value.message)  # paramiko's words stay out
    assert not Server.objects.exists()
    assert not os.path.exists(settings.DERP_HOST_CERT_DIR) or not os.listdir(settings.DERP_HOST_CERT_DIR)


def test_a_missing_engine_leaves_no_certificate_behind(fleet, settings):
    settings.DOCKER_DIAL_COMMAND = "socat - UNIX-CONNECT:/nonexistent/podman.sock"
    data, _sshd = fleet.new_server()

    with pytest.raises(ServiceError):
        add_server(actor=fleet.actor, data=data)

    assert not Server.objects.exists()
    assert not os.path.exists(settings.DERP_HOST_CERT_DIR) or not os.listdir(settings.DERP_HOST_CERT_DIR)


def test_the_add_operation_sets_the_server_up(fleet, run_operations):
    data, sshd = fleet.new_server()
    server, operation = requests.add(actor=fleet.actor, data=data)
    fleet.servers.append(server)
    assert server.status == ServerStatus.SETTING_UP and not server.ssh_host_key

    run_operations()

    operation.refresh_from_db()
    assert operation.state == OperationState.DONE, operation.error
    saved = Server.objects.get(pk=server.pk)
    assert saved.status == ServerStatus.HEALTHY
    assert saved.ssh_host_key.split()[:2] == sshd.host_key.public_line.split()[:2]
    assert operation.result["host_key_fingerprint"] == drivers.host_key_fingerprint(saved.ssh_host_key)
    assert os.path.isfile(f"{cert_dir(saved)}/{saved.public_ip}.key")


def test_an_unreachable_host_fails_the_add_operation_and_the_row_goes(fleet, run_operations):
    data, sshd = fleet.new_server()
    sshd.stop()
    _server, operation = requests.add(actor=fleet.actor, data=data)

    run_operations()

    operation.refresh_from_db()
    assert operation.state == OperationState.FAILED and operation.attempts == 1
    assert f"{sshd.address}:{sshd.port}" in operation.error
    assert not Server.objects.exists()


def test_a_refused_key_fails_the_add_operation_and_leaves_nothing(fleet, settings, run_operations):
    data, _sshd = fleet.new_server(ssh_secret=infra.new_key_pair().private_openssh)
    _server, operation = requests.add(actor=fleet.actor, data=data)

    with translation.override("en"):  # a worker writes in its own language
        run_operations()

    operation.refresh_from_db()
    assert (operation.state, operation.error_code) == (OperationState.FAILED, "auth_failed")
    assert "refused the SSH credentials" in operation.error
    assert not Server.objects.exists()
    assert not os.path.exists(settings.DERP_HOST_CERT_DIR) or not os.listdir(settings.DERP_HOST_CERT_DIR)
