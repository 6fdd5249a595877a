"""What kind of address an IP is, and what a host name resolves to: shared by the checks on
where the panel may be sent (webhooks, ping targets: apps/monitoring/targets.py) and which
servers it may be told to manage (apps/servers/addresses.py)."""

import ipaddress
import socket

from django.utils.translation import gettext as _

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_problem(address: Address, *, loopback_ok: bool, private_ok: bool) -> str | None:
    """Why the panel must not be sent to `address`, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if address.is_unspecified:
        return _("an unspecified address")
    if address.is_multicast:
        return _("a multicast address")
    if address.is_link_local:
        return _("a link-local address")
    if address.is_loopback:
        return None if loopback_ok else _("a loopback address")
    if address.is_reserved:
        return _("a reserved address")
    if address.is_private or not address.is_global:
        return None if private_ok else _("a private address")
    return None


def parse_ip(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int | None = None) -> list[Address]:
    """Every address `host` resolves to (an IP literal is itself); [] when it does not resolve."""
    literal = parse_ip(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    found = []
    for info in infos:
        address = parse_ip(info[4][0].split("%", 1)[0])
        if address is not None and address not in found:
            found.append(address)
    return found


def is_own_address(address: Address) -> bool:
    """Whether `address` belongs to this machine: only a local address can be bound to."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(address), 0))
    except OSError:
        return False
    return True
