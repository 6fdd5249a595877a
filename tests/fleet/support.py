"""Small helpers the fleet tests share."""

import socket
from datetime import timedelta

from django.utils import timezone

from apps.accounts.models import RentalState
from tests.factories import UserFactory


def renter(**fields):
    """A customer with an active rental (provisioning only serves those)."""
    return UserFactory(rental_state=RentalState.ACTIVE,
                       rental_expiry=timezone.now() + timedelta(days=30), **fields)


def http_status(host: str, port: int, path: str) -> int | None:
    """The status code of `GET path` on host:port, or None if nothing answers."""
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            status_line = sock.makefile("rb").readline().decode()
    except OSError:
        return None
    parts = status_line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
