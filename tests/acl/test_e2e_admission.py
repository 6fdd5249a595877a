"""End to end with real parts: the panel provisions the real derper on a real sshd + podman server;
the relay asks the panel's admission URL, served by a real gunicorn process, on every client's
handshake. A registered device is admitted, an unknown one refused, a removed device refused
afterwards, a suspended user refused; the derpMap names exactly that server, port and the
certificate the relay presents. Then real clients: Headscale follows the customer's feed URL,
two registered tailscaled nodes reach each other through the customer's relay, a third one,
not registered, cannot use it; the relay moved to another server, the clients follow through
the feed; the rental suspended, a node's new connection is refused."""

import json
import subprocess
from datetime import timedelta

import pytest
import yaml
from django.conf import settings as django_settings
from django.utils import timezone

from apps.accounts.models import RentalState
from apps.acl import admission, derpmap, services
from apps.acl.models import Device
from apps.containers.engine import cert_dir
from apps.containers.models import DerpInstance, InstanceStatus
from apps.containers.services import migrate_instance, provision_rental
from apps.rentals import services as rentals
from apps.servers import certs
from tests import parts, tailscale_bin
from tests.acl.conftest import paid_code
from tests.acl.live_panel import free_port, serve
from tests.factories import UserFactory
from tests.fleet import infra, tailnet
from tests.fleet.derp_client import ADMITTED, REFUSED, NodeKey, handshake
from tests.fleet.support import relay_answers, renter

pytestmark = pytest.mark.django_db(transaction=True)  # the panel process must see the rows


@pytest.fixture(autouse=True)
def recorded():
    """Here the panel process records for real (this test reads what it wrote)."""


def podman_gateway() -> str:
    """The host's address on podman's default bridge: how a relay container reaches the panel."""
    found = subprocess.run(["podman", "network", "inspect", "podman"], capture_output=True,
                           text=True, check=False)
    try:
        return json.loads(found.stdout)[0]["subnets"][0]["gateway"]
    except (ValueError, LookupError, TypeError):
        return "10.88.0.1"


@pytest.fixture
def panel(fleet_settings, tmp_path):
    """gunicorn serving this test's database; the relays are told its admission URL. It listens
    on every address: podman's bridge (and its gateway address) exists only while a container
    runs, so it cannot be bound before provisioning."""
    port = free_port("0.0.0.0")
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "DERPMGR_ENV": "test",
           "DATABASE_URL": parts.database_url_for_subprocess(),
           "DERPMGR_DATA_DIR": str(django_settings.DATA_DIR),
           "REDIS_URL": django_settings.REDIS_URL, "CELERY_BROKER_URL": "memory://"}
    with serve(bind="0.0.0.0", port=port, env=env, log=tmp_path / "panel.log"):
        fleet_settings.PANEL_URL = f"http://{podman_gateway()}:{port}"
        yield fleet_settings.PANEL_URL


def connect(instance, key: NodeKey) -> str:
    """What the relay does with a client presenting `key`: ADMITTED or REFUSED."""
    server = instance.server
    return handshake(server.public_ip, instance.port, key, cert_sha256=server.cert_fingerprint)


def test_the_relay_admits_exactly_the_registered_devices_of_an_active_rental(fleet, panel):
    server = fleet.add_one()
    user = UserFactory(rental_state=RentalState.ACTIVE, rental_expiry=timezone.now() + timedelta(days=30))
    paid_code(user)
    laptop_key, phone_key, stranger_key = NodeKey.new(), NodeKey.new(), NodeKey.new()
    laptop = services.add_device(user=user, name="laptop", node_key=laptop_key.public)
    services.add_device(user=user, name="phone", node_key=phone_key.public)

    report = provision_rental(user_id=user.pk, servers=1)
    assert report.created, report
    instance = DerpInstance.objects.select_related("server").get(user=user, status=InstanceStatus.RUNNING)
    assert instance.container_name and panel in " ".join(fleet.container(instance).attrs["Config"]["Cmd"])
    infra.wait_for(lambda: relay_answers(server, instance.port), timeout=20, what="the relay's port")

    # A registered device is admitted, an unknown one is not.
    assert connect(instance, laptop_key) == ADMITTED
    assert connect(instance, stranger_key) == REFUSED
    # The panel process wrote the admitted device's last connection (its recorder thread).
    infra.wait_for(lambda: Device.objects.get(pk=laptop.pk).last_seen_at, timeout=15,
                   what="the device's last-seen time")
    assert Device.objects.get(pk=laptop.pk).last_ip

    # A removed device is refused from its next connection.
    services.remove_device(actor=user, device=laptop)
    assert connect(instance, laptop_key) == REFUSED
    assert connect(instance, phone_key) == ADMITTED

    # A suspended user's devices are refused (the suspension job invalidates the same way).
    type(user).objects.filter(pk=user.pk).update(rental_state=RentalState.SUSPENDED)
    admission.invalidate_user(user.pk)
    assert connect(instance, phone_key) == REFUSED

    # The derpMap for that user names exactly that server, port and certificate.
    acl = services.current_acl(user)
    with open(f"{cert_dir(server)}/{server.public_ip}.crt", "rb") as uploaded:
        certificate = uploaded.read()
    expected = {"Name": "900a", "RegionID": 900, "HostName": server.public_ip,
                "IPv4": server.public_ip, "DERPPort": instance.port, "STUNPort": instance.port,
                "CertName": f"sha256-raw:{certs.sha256_raw(certificate)}"}
    [region] = json.loads(derpmap.as_json(acl.derp_map))["Regions"].values()
    assert region["RegionCode"] == f"derpmgr-{server.pk}"
    expected["RegionID"] = expected_region = region["RegionID"]
    expected["Name"] = f"{expected_region}a"
    assert region["Nodes"] == [expected]
    policy = json.loads("{" + derpmap.as_tailscale_policy(acl.derp_map).rstrip().removesuffix(",") + "}")
    assert list(policy["derpMap"]["Regions"].values()) == [region]
    [headscale] = yaml.safe_load(derpmap.as_headscale_yaml(acl.derp_map))["regions"].values()
    assert headscale["nodes"] == [{k.lower(): v for k, v in expected.items()} | {"stunonly": False}]


@pytest.fixture
def tailnet_dir(tmp_path):
    """Where this test's Headscale and nodes live; every one of them is stopped at teardown."""
    missing = tailscale_bin.missing(*tailnet.PARTS)
    parts.require(not missing, "the Tailscale parts (" + ", ".join(missing) + ")")
    started = []
    yield tmp_path / "tailnet", started
    for process in reversed(started):
        process.stop()


def via_relay(instance) -> str:
    """How `tailscale ping` names the relay a pong came through."""
    return f"via DERP(derpmgr-{instance.server_id})"


def refused_count(instance) -> int:
    return DerpInstance.objects.get(pk=instance.pk).denied_connections


def test_real_clients_go_through_the_customers_relay_follow_it_and_others_are_refused(
        fleet, panel, tailnet_dir):
    directory, started = tailnet_dir
    server, other_server = fleet.add(2)
    user = renter()
    paid_code(user)
    assert provision_rental(user_id=user.pk, servers=1, pinned_ids=[server.pk]).created
    instance = DerpInstance.objects.get(user=user, status=InstanceStatus.RUNNING)
    infra.wait_for(lambda: relay_answers(server, instance.port), timeout=20, what="the relay")

    # Headscale takes its relays from the customer's feed URL, and nothing else.
    headscale = tailnet.Headscale(directory / "headscale", derp_url=services.feed_url(user))
    started.append(headscale.start())
    auth_key = headscale.auth_key("customer")
    laptop, phone, stranger = nodes = [tailnet.Node(directory / name, name)
                                       for name in ("laptop", "phone", "stranger")]
    for node in nodes:
        started.append(node.start())
    tailnet.join(nodes, headscale, auth_key)
    # The customer registers two of the three node keys in the panel.
    services.add_device(user=user, name="laptop", node_key=laptop.node_key)
    services.add_device(user=user, name="phone", node_key=phone.node_key)

    region_code = f"derpmgr-{server.pk}"
    infra.wait_for(lambda: via_relay(instance) in laptop.ping(phone), timeout=60,
                   what="a ping from laptop to phone through the customer's relay")
    assert via_relay(instance) in phone.ping(laptop)
    # What the client uses is the panel's derpMap: that relay alone, its certificate pinned.
    derp_map = json.loads(laptop.cli("debug", "derp-map").stdout)
    [region] = derp_map["Regions"].values()
    assert region["RegionCode"] == region_code
    assert region["Nodes"] == [{
        "Name": f"{region['RegionID']}a", "RegionID": region["RegionID"],
        "HostName": server.public_ip, "IPv4": server.public_ip, "DERPPort": instance.port,
        "STUNPort": instance.port, "CertName": f"sha256-raw:{server.cert_fingerprint}"}]
    assert laptop.status()["Self"]["Relay"] == region_code

    # The stranger is in the same tailnet but not registered: the relay turns it away.
    refused_before = refused_count(instance)
    assert "pong" not in stranger.ping(laptop)
    assert "pong" not in laptop.ping(stranger)
    infra.wait_for(lambda: refused_count(instance) > refused_before, timeout=60,
                   what="the panel to count the stranger's refused connections")

    # The relay moves to another server: the clients follow through the feed, nobody pastes a map.
    moved = migrate_instance(actor=fleet.actor, instance=instance, target=other_server)
    infra.wait_for(lambda: via_relay(moved) in laptop.ping(phone), timeout=60,
                   what="the clients to follow the relay to the other server")

    # The rental suspended: a node's new connection to the relay is refused.
    rentals.suspend(user=user, actor=fleet.actor, reason="test")
    refused_before = refused_count(moved)
    phone.restart()
    infra.wait_for(lambda: refused_count(moved) > refused_before, timeout=60,
                   what="the relay to refuse the restarted phone")
    assert "pong" not in laptop.ping(phone)
