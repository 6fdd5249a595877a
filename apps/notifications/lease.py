"""A worker's hold on the outbox row it is sending.

Claiming a row gives it a fresh claim token and a lease. While the transport runs, a heartbeat
thread pushes the lease forward, so a slow SMTP conversation never outlives it: only a worker
that has died stops renewing, and once its lease has run out another worker sends the row again.
Every renewal and the final status change are conditional on the token, so a worker whose row
was taken over can neither keep nor finish it.
"""

import contextlib
import logging
import threading
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from .models import EmailStatus, OutboundEmail

logger = logging.getLogger(__name__)

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


@contextlib.contextmanager
def kept_alive(email_id: int, token: uuid.UUID):
    """Renew the claim's lease in the background for as long as the block runs."""
    stop = threading.Event()
    heartbeat = threading.Thread(target=_beat, args=(email_id, token, stop), daemon=True,
                                 name=f"outbox-lease-{email_id}")
    heartbeat.start()
    try:
        yield
    finally:
        stop.set()
        heartbeat.join()


def _beat(email_id: int, token: uuid.UUID, stop: threading.Event) -> None:
    interval = length().total_seconds() / RENEWALS_PER_LEASE
    try:
        while not stop.wait(interval):
            try:
                if not renew(email_id, token):
                    logger.warning("e-mail %s: another worker has taken it over; "
                                   "its lease is no longer renewed here", email_id)
                    return
            except DatabaseError:  # the next beat tries again while the lease still runs
                logger.warning("e-mail %s: could not renew the send lease", email_id,
                               exc_info=True)
    finally:
        connection.close()  # this thread's own connection
