"""Small helpers the fleet tests share."""

from datetime import timedelta

from django.utils import timezone

from apps.accounts.models import RentalState
from tests.factories import UserFactory
from tests.fleet import derp_client


def renter(**fields):
    """A customer with an active rental (provisioning only serves those)."""
    return UserFactory(rental_state=RentalState.ACTIVE,
                       rental_expiry=timezone.now() + timedelta(days=30), **fields)


def relay_answers(server, port: int) -> bool:
    """The relay on the server's port answers /generate_204 over TLS with the certificate the
    derpMap pins for that server (as a client of the derpMap would reach it)."""
    status = derp_client.generate_204(server.public_ip, port, cert_sha256=server.cert_fingerprint)
    return status == 204
