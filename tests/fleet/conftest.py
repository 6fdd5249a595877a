"""Fixtures for the fleet tests against real parts: OpenSSH daemons on 127.0.0.x standing in for
servers, one podman serving the Docker API behind all of them, and the relay image (the real
derper).

Several "servers" share one podman, so each gets its own relay port block and certificate
directory; this run's containers carry a panel id of their own (settings.PANEL_ID) and are
removed at teardown.
"""

import os

import pytest

from apps.containers import engine as engine_module
from apps.servers import drivers
from tests import parts
from tests.fleet import infra


@pytest.fixture(scope="session")
def fleet_parts(tmp_path_factory):
    """podman's API service and the relay image (a missing part fails under CI=true)."""
    missing = infra.missing_parts()
    parts.require(not missing, "the fleet test parts (" + ", ".join(missing) + ")")
    service = infra.PodmanService(tmp_path_factory.mktemp("podman"))
    service.ensure()
    parts.require(infra.podman_answers(), f"podman's Docker API on {infra.PODMAN_SOCKET}")
    image = infra.ensure_relay_image()
    yield image
    service.stop()


@pytest.fixture
def fleet_settings(settings, fleet_parts, tmp_path):
    """The panel reaches podman through each sshd, runs the real derper image, keeps certificates
    in a directory of this test."""
    settings.DOCKER_DIAL_COMMAND = infra.DIAL_COMMAND
    settings.DERP_IMAGE = fleet_parts
    settings.DERP_HOST_CERT_DIR = str(tmp_path / "certs")
    settings.PANEL_ID = f"fleet-test-{os.getpid()}"
    settings.SSH_CONNECT_TIMEOUT = 5
    settings.SSH_COMMAND_TIMEOUT = 30
    settings.CONTAINER_ENGINE = "apps.containers.engine.DockerEngine"
    engine_module._engine.cache_clear()
    yield settings
    drivers.close_all()
    engine_module._engine.cache_clear()


@pytest.fixture
def loopback(fleet_parts, tmp_path):
    """sshd "servers" on 127.0.0.2, 127.0.0.3, …; each stopped by PID at teardown."""
    fleet = infra.LoopbackFleet(tmp_path)
    yield fleet
    fleet.stop()


@pytest.fixture
def ssh_server(loopback):
    """Factory: a new sshd on the next loopback address."""
    return loopback.ssh_server


@pytest.fixture
def fleet(fleet_settings, loopback, superadmin):
    """Servers added the real way (apps.servers.services.add_server); their containers are removed
    at teardown."""
    fleet = infra.Fleet(loopback, actor=superadmin)
    yield fleet
    fleet.remove_containers()


@pytest.fixture
def fleet_worker_env(fleet_settings):
    """The settings a real worker process needs to drive this test's fleet, as its environment;
    short leases so that a killed worker's operations are taken up within the test."""
    from django.conf import settings

    return {"DOCKER_DIAL_COMMAND": settings.DOCKER_DIAL_COMMAND, "DERP_IMAGE": settings.DERP_IMAGE,
            "DERP_HOST_CERT_DIR": settings.DERP_HOST_CERT_DIR, "PANEL_ID": settings.PANEL_ID,
            "SSH_CONNECT_TIMEOUT": 5, "SSH_COMMAND_TIMEOUT": 60, "OPERATION_LEASE_SECONDS": 3,
            "OPERATION_REQUEUE_SECONDS": 1, "OPERATION_RETRY_BASE_SECONDS": 1}
