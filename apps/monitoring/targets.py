"""What the panel may be told to reach: webhook URLs (the panel POSTs to them), ping targets and
the speed test URL (the servers reach those).

A webhook must not become a way into the panel host's own services or its network (SSRF): the
panel itself (PANEL_URL, ADMISSION_URL, ALLOWED_HOSTS) and every loopback, private, link-local,
multicast, reserved or unspecified address are refused, for IP literals and for every address a
name resolves to. The check runs when a channel is saved and again at each send, where the
connection goes to the address that passed (webhooks.py), so a name re-pointed afterwards (DNS
rebinding) cannot swap it. MONITORING_ALLOW_PRIVATE_TARGETS lets loopback and private addresses
through, for a receiver on the panel's own network (and the tests); link-local (cloud metadata
at 169.254.169.254), multicast, reserved and unspecified addresses stay refused whatever it says.
"""

import re
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.http.request import validate_host
from django.utils.translation import gettext as _

from derpmgr.addresses import Address, address_problem, parse_ip, resolve
from derpmgr.errors import ServiceError

MAX_PROBE_TARGETS = 20
MAX_URL_LENGTH = 500
SPEED_TEST_URL_LENGTH = 200  # the column's size

# A host name: dot-separated labels of letters, digits and inner hyphens (none may start with a
# hyphen, so no name can pass for a command-line option), not all-numeric at the end.
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}\.?$){_LABEL}(?:\.{_LABEL})*\.?$")


class UnsafeTarget(ServiceError):
    code = "unsafe_target"

    def __init__(self, message, *, field: str):
        super().__init__(message, fields={field: [str(message)]})


# --- Addresses -------------------------------------------------------------------------------

def allow_private() -> bool:
    return settings.MONITORING_ALLOW_PRIVATE_TARGETS


def allowed_addresses(host: str, port: int | None, *, field: str, loopback_ok: bool,
                      private_ok: bool) -> list[Address]:
    """The addresses of `host`, each one checked; UnsafeTarget if any is refused or none."""
    addresses = resolve(host, port)
    if not addresses:
        raise UnsafeTarget(_("%(host)s does not resolve to an address.") % {"host": host},
                           field=field)
    for address in addresses:
        problem = address_problem(address, loopback_ok=loopback_ok, private_ok=private_ok)
        if problem:
            shown = host if parse_ip(host) else f"{host} ({address})"
            raise UnsafeTarget(_("%(host)s is %(problem)s: not allowed as a target.")
                               % {"host": shown, "problem": problem}, field=field)
    return addresses


# --- URLs ------------------------------------------------------------------------------------

def _split_http_url(url, *, field: str, max_length: int = MAX_URL_LENGTH) -> SplitResult:
    """An http(s) URL with a host and no credentials, or a ServiceError naming `field`."""
    def refuse(message):
        return ServiceError(message, code="invalid_url", fields={field: [str(message)]})

    if not isinstance(url, str) or not url.strip():
        raise refuse(_("Enter an http:// or https:// URL."))
    url = url.strip()
    if len(url) > max_length:
        raise refuse(_("The URL is too long (%(max)d characters at most).") % {"max": max_length})
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise refuse(_("A URL has no spaces or control characters."))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError:
        raise refuse(_("This is not a valid URL.")) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise refuse(_("Only http:// and https:// URLs are allowed."))
    if not parts.hostname:
        raise refuse(_("The URL has no host."))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise refuse(_("Put no user name or password in the URL (the signature authenticates "
                       "the panel)."))
    if parse_ip(parts.hostname) is None and not _HOSTNAME.match(parts.hostname):
        raise refuse(_("The URL's host is not a valid host name or IP address."))
    return parts


def _host_of(url: str) -> str | None:
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower() or None
    except ValueError:
        return None


def _panel_hosts() -> set[str]:
    return {host for host in (_host_of(settings.PANEL_URL), _host_of(settings.ADMISSION_URL))
            if host}


def _named_like_the_panel(host: str) -> bool:
    host = host.rstrip(".").lower()
    named = [name for name in settings.ALLOWED_HOSTS if name != "*"]
    return host in _panel_hosts() or bool(named and validate_host(host, named))


def _panel_addresses() -> set[Address]:
    return {address for name in _panel_hosts() for address in resolve(name)}


def webhook_destination(url) -> tuple[SplitResult, Address]:
    """The URL's parts and the one address to connect to, every address of the host checked
    now; a ServiceError on the "url" field otherwise. Called when saving and at each send."""
    parts = _split_http_url(url, field="url")
    if _named_like_the_panel(parts.hostname):
        raise UnsafeTarget(_("A webhook cannot point at the panel itself."), field="url")
    private = allow_private()
    addresses = allowed_addresses(parts.hostname, parts.port, field="url", loopback_ok=private,
                                  private_ok=private)
    if _panel_addresses().intersection(addresses):
        raise UnsafeTarget(_("A webhook cannot point at the panel itself."), field="url")
    return parts, addresses[0]


def check_webhook_url(url) -> str:
    """The webhook URL to save (see the module's note)."""
    webhook_destination(url)
    return url.strip()


def check_speed_test_url(url) -> str:
    """The speed test URL to save ("" for none): http(s), a host, no credentials."""
    if url is None or (isinstance(url, str) and not url.strip()):
        return ""
    _split_http_url(url, field="speed_test_url", max_length=SPEED_TEST_URL_LENGTH)
    return url.strip()


# --- Ping targets ----------------------------------------------------------------------------

def check_probe_targets(text) -> str:
    """The ping targets to save, one per line: host names or IP literals (no ports, URLs or
    spaces), at most MAX_PROBE_TARGETS, never loopback, link-local, multicast or unspecified;
    private addresses only with MONITORING_ALLOW_PRIVATE_TARGETS."""
    field = "probe_targets"
    if text is None:
        return ""
    if isinstance(text, list | tuple):
        lines = text
    elif isinstance(text, str):
        lines = text.splitlines()
    else:
        raise ServiceError(_("Give the ping targets as text, one per line."), fields={
            field: [_("Give the ping targets as text, one per line.")]})
    targets: list[str] = []
    for line in lines:
        if not isinstance(line, str):
            message = _("Each ping target is a host name or an IP address.")
            raise ServiceError(message, fields={field: [message]})
        target = line.strip()
        if not target:
            continue
        target = _probe_target(target, field=field)
        if target not in targets:
            targets.append(target)
    if len(targets) > MAX_PROBE_TARGETS:
        message = _("At most %(max)d ping targets.") % {"max": MAX_PROBE_TARGETS}
        raise ServiceError(message, fields={field: [message]})
    return "\n".join(targets)


def _probe_target(target: str, *, field: str) -> str:
    address = parse_ip(target) if not target.startswith("[") else None
    if address is None:
        if not _HOSTNAME.match(target) or target.rstrip(".").rsplit(".", 1)[-1].isdigit():
            message = _("%(target)s is not a host name or an IP address (no ports, URLs or "
                        "spaces).") % {"target": target[:80]}
            raise ServiceError(message, code="invalid_target", fields={field: [message]})
        allowed_addresses(target, None, field=field, loopback_ok=False,
                          private_ok=allow_private())
        return target.lower()
    problem = address_problem(address, loopback_ok=False, private_ok=allow_private())
    if problem:
        raise UnsafeTarget(_("%(target)s is %(problem)s; servers do not ping there.")
                           % {"target": target, "problem": problem}, field=field)
    return str(address)
