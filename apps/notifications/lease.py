"""A worker's hold on the outbox row it is sending.

Claiming a row gives it a fresh claim token and a lease. While the transport runs, a heartbeat
thread pushes the lease forward, so a slow SMTP conversation never outlives it: only a worker
that has died stops renewing, and once its lease has run out another worker sends the row again.
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


def kept_alive(email_id: int, token: uuid.UUID):
    """Renew the claim's lease in the background for as long as the block runs."""
    return heartbeat.kept_alive(lambda: renew(email_id, token),
                                every=length().total_seconds() / RENEWALS_PER_LEASE,
                                name=f"e-mail {email_id}")
