"""Provisioning on real servers: one relay container per server with derper's arguments, both
protocols published on one port, restarted unless stopped, and answering on its port."""

import socket

import pytest

from apps.containers.models import DerpInstance, InstanceStatus
from apps.containers.services import provision_rental
from tests.fleet import infra
from tests.fleet.support import relay_answers, renter

pytestmark = pytest.mark.django_db(transaction=True)  # relays start in threads


def test_a_user_gets_one_running_relay_on_each_of_three_servers(fleet, settings):
    servers = fleet.add(3)
    user = renter()

    report = provision_rental(user_id=user.pk, servers=3)

    assert len(report.created) == 3 and not report.failed
    instances = list(DerpInstance.objects.filter(user=user).select_related("server"))
    assert sorted(i.server_id for i in instances) == sorted(s.pk for s in servers)
    for instance in instances:
        port, server = instance.port, instance.server
        assert instance.status == InstanceStatus.RUNNING
        assert port == server.port_range_start
        attrs = fleet.container(instance).attrs
        assert attrs["State"]["Running"]
        assert attrs["Id"] == instance.container_id
        labels = attrs["Config"]["Labels"]
        assert labels["derpmgr.panel"] == settings.PANEL_ID
        assert labels["derpmgr.server"] == str(server.pk)
        assert labels["derpmgr.instance"] == str(instance.pk)
        assert labels["derpmgr.user"] == str(user.pk)
        assert attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        bindings = attrs["HostConfig"]["PortBindings"]
        assert bindings[f"{port}/tcp"][0]["HostPort"] == str(port)
        assert bindings[f"{port}/udp"][0]["HostPort"] == str(port)
        assert attrs["Config"]["Cmd"] == [
            "-a", f":{port}", "-stun-port", str(port), "-http-port", "-1",
            "-hostname", server.public_ip, "-certmode", "manual", "-certdir", "/certs",
            "-verify-client-url", f"http://testserver/api/acl/admit/{instance.admission_token}",
            "-verify-client-url-fail-open=false"]
        assert attrs["Config"]["Image"].endswith(settings.DERP_IMAGE.split("/", 1)[1])


def test_the_relay_answers_generate_204_on_its_port_with_the_pinned_certificate(fleet):
    server = fleet.add_one()
    user = renter()

    provision_rental(user_id=user.pk, servers=1)

    port = DerpInstance.objects.get(user=user).port
    assert infra.wait_for(lambda: relay_answers(server, port), timeout=10,
                          what="the relay's /generate_204")


def test_a_port_another_process_listens_on_is_skipped(fleet):
    server = fleet.add_one()
    user = renter()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", server.port_range_start))
        squatter.listen()

        provision_rental(user_id=user.pk, servers=1)

    instance = DerpInstance.objects.get(user=user)
    assert instance.status == InstanceStatus.RUNNING
    assert instance.port == server.port_range_start + 1
    bindings = fleet.container(instance).attrs["HostConfig"]["PortBindings"]
    assert bindings[f"{instance.port}/tcp"][0]["HostPort"] == str(instance.port)
