"""The derpMap: one region per server in 900–999, unique and stable across versions; Tailscale's
field names exactly; a pinned certificate (CertName) or InsecureForTests per the certificate
setting; IPv6 servers; and the three renderings parse."""

import json

import pytest
import yaml

from apps.acl import derpmap, services
from apps.containers.models import InstanceStatus
from tests.acl.conftest import make_server, relay

REGION_FIELDS = {"RegionID", "RegionCode", "RegionName", "Nodes"}
NODE_FIELDS = {"Name", "RegionID", "HostName", "IPv4", "DERPPort", "STUNPort", "CertName"}


def regions_of(user) -> dict:
    return services.issue_version(user=user, reason="test").derp_map["Regions"]


def test_one_region_per_server_with_tailscales_field_names(renter, relays):
    regions = regions_of(renter)
    assert len(regions) == 3
    for key, region in regions.items():
        assert set(region) == REGION_FIELDS
        assert key == str(region["RegionID"]) and 900 <= region["RegionID"] <= 999
        [node] = region["Nodes"]
        assert set(node) == NODE_FIELDS
        assert node["RegionID"] == region["RegionID"]
    by_server = {r["RegionCode"]: r["Nodes"][0] for r in regions.values()}
    for instance in relays:
        node = by_server[f"derpmgr-{instance.server_id}"]
        assert node["HostName"] == node["IPv4"] == instance.server.public_ip
        assert node["DERPPort"] == node["STUNPort"] == instance.port
        assert node["CertName"] == f"sha256-raw:{instance.server.cert_fingerprint}"


def test_region_ids_are_unique_even_when_server_ids_collide():
    assert sorted(derpmap.region_ids([1, 101, 201, 100]).values()) == [900, 901, 902, 999]
    assert len(set(derpmap.region_ids(range(1, 101)).values())) == 100
    with pytest.raises(derpmap.TooManyRegions):
        derpmap.region_ids(range(1, 102))


def test_a_server_keeps_its_region_across_versions():
    first = derpmap.region_ids([101], {})
    assert first == {101: 900}
    # Server 1 would take 900 by its id, but 101 already has it: the newcomer moves on.
    assert derpmap.region_ids([1, 101], {101: 900}) == {1: 901, 101: 900}


def test_versions_keep_region_ids_when_relays_come_and_go(renter, servers):
    a, b, c = servers
    relay(renter, b)
    first = regions_of(renter)
    relay(renter, a)
    relay(renter, c)
    second = regions_of(renter)
    region_of_b = [r["RegionID"] for r in first.values() if r["RegionCode"] == f"derpmgr-{b.pk}"]
    assert [r["RegionID"] for r in second.values() if r["RegionCode"] == f"derpmgr-{b.pk}"] == region_of_b
    assert len({r["RegionID"] for r in second.values()}) == 3


def test_a_server_with_a_domain_is_reached_by_name_and_pins_nothing(renter):
    instance = relay(renter, make_server(domain="derp1.example.com", cert_fingerprint="ab" * 32))
    [region] = regions_of(renter).values()
    [node] = region["Nodes"]
    assert node["HostName"] == "derp1.example.com" and node["IPv4"] == instance.server.public_ip
    assert "CertName" not in node and "InsecureForTests" not in node


def test_insecure_for_tests_replaces_the_pin_when_the_operator_opts_in(renter, relays, settings):
    settings.DERP_INSECURE_FOR_TESTS = True
    for region in regions_of(renter).values():
        [node] = region["Nodes"]
        assert node["InsecureForTests"] is True and "CertName" not in node


def test_an_ipv6_server_gets_ipv6_not_ipv4(renter):
    relay(renter, make_server(public_ip="2001:db8::1", cert_fingerprint="cd" * 32))
    [region] = regions_of(renter).values()
    [node] = region["Nodes"]
    assert node["IPv6"] == "2001:db8::1" and "IPv4" not in node
    assert node["HostName"] == "2001:db8::1"


def test_the_map_lists_running_and_stopped_relays_and_a_moving_one_until_its_replacement_runs(
        renter, servers):
    a, b, c = servers
    relay(renter, a, status=InstanceStatus.STOPPED)
    moving = relay(renter, b, status=InstanceStatus.MIGRATING)
    relay(renter, make_server(), status=InstanceStatus.PENDING)
    relay(renter, make_server(), status=InstanceStatus.REMOVED)
    relay(renter, make_server(), status=InstanceStatus.ERROR)
    assert {r["RegionCode"] for r in regions_of(renter).values()} == {f"derpmgr-{a.pk}", f"derpmgr-{b.pk}"}

    replacement = relay(renter, c)
    replacement.replaces = moving
    replacement.save(update_fields=["replaces"])
    assert {r["RegionCode"] for r in regions_of(renter).values()} == {f"derpmgr-{a.pk}", f"derpmgr-{c.pk}"}


def test_the_three_renderings_parse(renter, relays):
    acl = services.issue_version(user=renter, reason="test")
    raw = json.loads(derpmap.as_json(acl.derp_map))
    assert raw == acl.derp_map

    snippet = derpmap.as_tailscale_policy(acl.derp_map, omit_default_regions=True)
    assert snippet.startswith('"derpMap": {')
    policy = json.loads("{" + snippet.rstrip().removesuffix(",") + "}")
    assert policy["derpMap"] == {"OmitDefaultRegions": True, **acl.derp_map}
    kept = json.loads("{" + derpmap.as_tailscale_policy(acl.derp_map, omit_default_regions=False)
                      .rstrip().removesuffix(",") + "}")
    assert kept["derpMap"]["OmitDefaultRegions"] is False

    headscale = yaml.safe_load(derpmap.as_headscale_yaml(acl.derp_map))
    assert set(headscale) == {"regions"}
    for region_id, region in headscale["regions"].items():
        original = acl.derp_map["Regions"][str(region_id)]
        assert region["regionid"] == region_id and region["regioncode"] == original["RegionCode"]
        [node] = region["nodes"]
        source = original["Nodes"][0]
        assert node == {"name": source["Name"], "regionid": region_id, "hostname": source["HostName"],
                        "ipv4": source["IPv4"], "derpport": source["DERPPort"],
                        "stunport": source["STUNPort"], "certname": source["CertName"],
                        "stunonly": False}


def test_json_carries_omit_default_regions_only_when_asked(renter, relays):
    acl = services.issue_version(user=renter, reason="test")
    assert "OmitDefaultRegions" not in json.loads(derpmap.as_json(acl.derp_map))
    assert json.loads(derpmap.as_json(acl.derp_map, omit_default_regions=True))["OmitDefaultRegions"] is True
