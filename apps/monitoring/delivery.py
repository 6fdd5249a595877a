"""Sending alert notifications to the channels: e-mail through the outbox, webhooks signed
with HMAC-SHA256 and retried with backoff. Only apps.monitoring.services calls `notify`."""

from .models import Alert


def notify(alert: Alert, event: str) -> None:
    """Queue the notifications of this alert event, in the caller's transaction."""


def repeat_if_due(alert: Alert) -> None:
    """Queue a reminder of a still-open alert when the repeat interval has passed."""
