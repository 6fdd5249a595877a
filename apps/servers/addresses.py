"""Which addresses the panel may be told to manage as a server (on add, and again when it dials).

Refused: loopback, link-local (cloud metadata at 169.254.169.254), unspecified, multicast and
reserved addresses, and the panel's own (any address of this machine, and the addresses of
PANEL_URL and ADMISSION_URL) — for IP literals and for every address a name resolves to, so an
operator's form cannot be used to make the panel talk to itself or its host's services.
SERVERS_ALLOW_LOCAL_ADDRESSES lets loopback and the panel's own addresses through (a fleet on
the panel's machine: the test fleet); link-local, unspecified, multicast and reserved addresses
stay refused whatever it says. Private (RFC 1918, unique-local) addresses are allowed: real
fleets are reached over private networks (a VPC, a VPN), and that is the operator's choice.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from derpmgr.addresses import Address, address_problem, is_own_address, parse_ip, resolve
from derpmgr.errors import ServiceError


class AddressNotAllowed(ServiceError):
    code = "address_not_allowed"

    def __init__(self, message, *, field: str):
        super().__init__(message, fields={field: [str(message)]})


def _panel_addresses() -> set[Address]:
    hosts = {urlsplit(url).hostname for url in (settings.PANEL_URL, settings.ADMISSION_URL) if url}
    return {address for host in hosts if host for address in resolve(host)}


def problem(address: Address) -> str | None:
    """Why a server may not have `address`, or None."""
    local_ok = settings.SERVERS_ALLOW_LOCAL_ADDRESSES
    why = address_problem(address, loopback_ok=local_ok, private_ok=True)
    if why is None and not local_ok and (is_own_address(address)
                                         or address in _panel_addresses()):
        why = _("this panel's own address")
    return why


def allowed_addresses(host: str, *, field: str) -> list[Address]:
    """Every address of `host` (an IP or a name), each allowed; AddressNotAllowed otherwise."""
    addresses = resolve(host)
    if not addresses:
        raise AddressNotAllowed(_("%(host)s does not resolve to an address.") % {"host": host},
                                field=field)
    for address in addresses:
        why = problem(address)
        if why:
            shown = host if parse_ip(host) else f"{host} ({address})"
            raise AddressNotAllowed(_("%(host)s is %(problem)s: a server cannot be added there.")
                                    % {"host": shown, "problem": why}, field=field)
    return addresses
