"""Where a request comes from."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the address our own proxies saw in X-Forwarded-For.

    Only the last NUM_PROXIES hops are trusted; anything a client writes before them is ignored.
    """
    remote = request.META.get("REMOTE_ADDR") or "0.0.0.0"  # noqa: S104 - an address, not a bind
    if settings.NUM_PROXIES <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < settings.NUM_PROXIES:
        return remote
    candidate = hops[-settings.NUM_PROXIES]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
