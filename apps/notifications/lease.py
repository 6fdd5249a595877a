"""A worker's hold on the outbox rows it is sending.

Claiming a chunk of rows gives them one fresh claim token and a lease. While the chunk is sent,
a heartbeat thread pushes the leases of the rows it still holds forward, so a slow SMTP
conversation never outlives them: only a worker that has died stops renewing, and once its lease
has run out another worker sends the row again.
Every renewal and the final status change are conditional on the token, so a worker whose row
was taken over can neither keep nor finish it.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from derpmgr import heartbeat

from .models import EmailStatus, OutboundEmail

# Renewals per lease: one slow or failed renewal does not lose the row.
RENEWALS_PER_LEASE = 3


def length() -> timedelta:
    return timedelta(seconds=settings.EMAIL_SEND_LEASE_SECONDS)


def new_token() -> uuid.UUID:
    return uuid.uuid4()


def held(email_id: int, token: uuid.UUID):
    """The row as a queryset, empty once the claim `token` no longer holds it."""
    return OutboundEmail.objects.filter(pk=email_id, status=EmailStatus.SENDING, claim_token=token)


def renew(email_id: int, token: uuid.UUID) -> bool:
    """Push the lease forward from now; False if the claim is no longer ours."""
    return bool(held(email_id, token).update(lease_until=timezone.now() + length()))


def renew_claim(token: uuid.UUID) -> int:
    """Push forward the lease of every row the claim still holds; how many it holds."""
    return OutboundEmail.objects.filter(status=EmailStatus.SENDING, claim_token=token).update(
        lease_until=timezone.now() + length())


def claim_kept_alive(token: uuid.UUID):
    """Renew the claim's leases in the background for as long as the block runs."""
    return heartbeat.kept_alive(lambda: renew_claim(token),
                                every=length().total_seconds() / RENEWALS_PER_LEASE,
                                name=f"e-mail claim {token}")
