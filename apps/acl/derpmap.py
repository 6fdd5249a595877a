"""The derpMap of a user's relays, with Tailscale's field names (tailcfg.DERPMap), and its three
renderings: a policy-file snippet, Headscale's derp.yaml and raw DERPMap JSON."""

import functools
import ipaddress
import json
from collections import defaultdict
from typing import NamedTuple

import yaml
from django.db.models import Q

from apps.containers.models import DerpInstance, InstanceStatus
from apps.servers.models import Server

FIRST_REGION, LAST_REGION = 900, 999
SPAN = LAST_REGION - FIRST_REGION + 1

# Relays that belong in the map: running ones, stopped ones (a suspension or an over-quota server
# keeps their ports, so the map stays the same and a renewal needs no new paste) and one being
# moved until its replacement runs.
MAPPED_STATUSES = (InstanceStatus.RUNNING, InstanceStatus.STOPPED, InstanceStatus.MIGRATING)


class TooManyRegions(ValueError):
    pass


def region_code(server_id: int) -> str:
    return f"derpmgr-{server_id}"


def previous_regions(derp_map: dict | None) -> dict[int, int]:
    """{server id: region id} of an earlier version, so that a server keeps its region."""
    found = {}
    for region in ((derp_map or {}).get("Regions") or {}).values():
        code = str(region.get("RegionCode", ""))
        if code.startswith("derpmgr-") and code[8:].isdigit():
            found[int(code[8:])] = region["RegionID"]
    return found


def region_ids(server_ids, previous: dict[int, int] | None = None) -> dict[int, int]:
    """A region per server, unique in 900–999: the one it had in the previous version, else the
    one derived from its id (or the next free one)."""
    previous = previous or {}
    server_ids = sorted(set(server_ids))
    if len(server_ids) > SPAN:
        raise TooManyRegions(f"{len(server_ids)} servers do not fit in {SPAN} regions")
    assigned: dict[int, int] = {}
    for server_id in server_ids:  # keepers first, so a newcomer never takes a kept id
        region = previous.get(server_id)
        if region is not None and FIRST_REGION <= region <= LAST_REGION \
                and region not in assigned.values():
            assigned[server_id] = region
    taken = set(assigned.values())
    for server_id in server_ids:
        if server_id in assigned:
            continue
        candidate = FIRST_REGION + (server_id - 1) % SPAN
        while candidate in taken:
            candidate = FIRST_REGION + (candidate - FIRST_REGION + 1) % SPAN
        assigned[server_id] = candidate
        taken.add(candidate)
    return assigned


def mapped_instances(user):
    """The user's relays that the map lists (a moving relay gives way once its replacement runs)."""
    return mapped_instances_of([user.pk])


def mapped_instances_of(user_ids):
    """`mapped_instances` of many users in one query, by user then server."""
    replaced = DerpInstance.objects.filter(
        user_id__in=user_ids, replaces__isnull=False,
        status__in=(InstanceStatus.RUNNING, InstanceStatus.STOPPED)).values("replaces_id")
    return (DerpInstance.objects.select_related("server")
            .filter(user_id__in=user_ids, status__in=MAPPED_STATUSES)
            .exclude(Q(status=InstanceStatus.MIGRATING) & Q(pk__in=replaced))
            .order_by("user_id", "server_id"))


class MappedRelay(NamedTuple):
    """What the map needs of a relay (`build_from` takes these or DerpInstance rows)."""

    server_id: int
    server: Server
    port: int


def mapped_relays_of(user_ids) -> dict[int, list[MappedRelay]]:
    """{user id: their mapped relays} for many users, read as plain rows: two queries (relays,
    then their servers, which are few) and no model instance per relay."""
    rows = list(mapped_instances_of(user_ids).values_list("user_id", "server_id", "port"))
    servers = Server.objects.in_bulk({server_id for _user, server_id, _port in rows})
    relays = defaultdict(list)
    for user_id, server_id, port in rows:
        relays[user_id].append(MappedRelay(server_id, servers[server_id], port))
    return relays


@functools.lru_cache(maxsize=1024)  # a batch maps thousands of relays on a few servers
def _address(public_ip: str) -> tuple[str, str]:
    address = ipaddress.ip_address(public_ip)
    return ("IPv4" if address.version == 4 else "IPv6"), str(address)


def node_for(instance, region_id: int, *, insecure_for_tests: bool) -> dict:
    """One DERPNode. IP-only servers pin their self-signed certificate (CertName), or skip
    verification (InsecureForTests) for old clients when the operator opts in; a server with a
    domain uses its ordinary certificate."""
    server = instance.server
    node = {"Name": f"{region_id}a", "RegionID": region_id, "HostName": server.hostname}
    family, address = _address(server.public_ip)
    node[family] = address
    node["DERPPort"] = instance.port
    node["STUNPort"] = instance.port
    if not server.domain:
        if insecure_for_tests:
            node["InsecureForTests"] = True
        elif server.cert_fingerprint:
            node["CertName"] = f"sha256-raw:{server.cert_fingerprint}"
    return node


def build(user, *, previous: dict | None = None, insecure_for_tests: bool = False) -> dict:
    """DERPMap for the user's relays: {"Regions": {"900": {…}}}. `previous` is the map of the
    version before, whose region ids are kept."""
    return build_from(list(mapped_instances(user)), previous=previous,
                      insecure_for_tests=insecure_for_tests)


def build_from(instances, *, previous: dict | None = None, insecure_for_tests: bool = False) -> dict:
    """`build` from the user's mapped relays, already read (a batch reads many users' at once)."""
    ids = region_ids([i.server_id for i in instances], previous_regions(previous))
    regions = {}
    for instance in instances:
        server, region_id = instance.server, ids[instance.server_id]
        regions[str(region_id)] = {
            "RegionID": region_id, "RegionCode": region_code(server.pk),
            "RegionName": server.location or server.name,
            "Nodes": [node_for(instance, region_id, insecure_for_tests=insecure_for_tests)]}
    return {"Regions": dict(sorted(regions.items()))}


def as_json(derp_map: dict, *, omit_default_regions: bool = False) -> str:
    """tailcfg.DERPMap as JSON (what Headscale's derp.urls fetches)."""
    body = dict(derp_map)
    if omit_default_regions:
        body["OmitDefaultRegions"] = True
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def as_tailscale_policy(derp_map: dict, *, omit_default_regions: bool = True) -> str:
    """The snippet to paste into the tailnet policy file (HuJSON), beside "acls"."""
    body = {"OmitDefaultRegions": omit_default_regions, **derp_map}
    return '"derpMap": ' + json.dumps(body, indent=2, ensure_ascii=False) + ",\n"


def as_headscale_yaml(derp_map: dict) -> str:
    """Headscale's derp.yaml (derp.paths): the same map with the lower-case keys Headscale's YAML
    decoder reads into tailcfg.DERPMap."""
    regions = {}
    for region in derp_map["Regions"].values():
        regions[region["RegionID"]] = {
            "regionid": region["RegionID"], "regioncode": region["RegionCode"],
            "regionname": region["RegionName"],
            "nodes": [{key.lower(): value for key, value in node.items()} | {"stunonly": False}
                      for node in region["Nodes"]],
        }
    return yaml.safe_dump({"regions": regions}, allow_unicode=True, sort_keys=False)
