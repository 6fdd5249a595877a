"""Writing the system log. Callers are services, inside the transaction of the change."""

import functools
import ipaddress
import re

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from derpmgr import bulk

from . import visibility
from .models import AuditEvent

SCRUBBED = "***"

# A key naming one of these anywhere ("new_password", "client_secret") holds a secret.
_SECRET_WORDS = ("password", "passwd", "secret", "credential")
# A key ending in one of these ("api_token", "secret_key", "backup_codes") holds a secret; one
# that merely starts with it ("token_prefix", "key_count") describes one and is kept.
_SECRET_LAST_WORDS = frozenset({"token", "key", "otp", "code", "pin"})

_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_ENCODER = DjangoJSONEncoder()


@functools.lru_cache(maxsize=4096)  # keys repeat from event to event; a batch writes thousands
def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    if any(word in lowered for word in _SECRET_WORDS):
        return True
    words = [w for w in _NOT_ALNUM.split(_CAMEL_HUMP.sub("_", key).lower()) if w]
    if not words:
        return False
    last = words[-1].rstrip("0123456789")
    return last in _SECRET_LAST_WORDS or last.removesuffix("s") in _SECRET_LAST_WORDS


# Stored forms of secrets: "password" (a hash), "key_hash", "secret_encrypted", "body_text_sealed".
_STORED_SECRET_WORDS = ("hash", "encrypted", "sealed")


def is_secret_name(name: str) -> bool:
    """A field or key whose value the log must never show, only that it changed."""
    return _is_secret_key(name) or any(word in name.lower() for word in _STORED_SECRET_WORDS)


def _scrub(value):
    """A JSON-ready copy of `value` with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {str(k): (SCRUBBED if _is_secret_key(str(k)) else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_scrub(v) for v in value), key=str)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:  # dates, decimals, UUIDs, lazy translations: their usual JSON text
        return _ENCODER.default(value)
    except TypeError:
        return str(value)


def _valid_ip(ip: str | None) -> str | None:
    if not ip:
        return None
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None  # a socket path or a proxy's garbage: the event matters more than the address


def event(*, actor, action: str, target: models.Model | None = None, ip: str | None = None,
          details: dict | None = None, actor_label: str = "",
          finance: bool | None = None) -> AuditEvent:
    """One event, not yet written: `record` writes it at once, `record_all` many together.
    `actor` may be None (the system, or an anonymous visitor). `finance` (default: guessed from
    the action and the details, visibility.is_finance) keeps the event from those who may not
    see finance."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    label = actor_label or (str(actor) if actor is not None else "")
    return AuditEvent(
        actor=actor,
        actor_label=label[:254],
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:254] if target is not None else "",
        ip=_valid_ip(ip),
        details=_scrub(details or {}),
        finance=visibility.is_finance(action, details) if finance is None else finance,
    )


def record(*, actor, action: str, target: models.Model | None = None, ip: str | None = None,
           details: dict | None = None, actor_label: str = "",
           finance: bool | None = None) -> AuditEvent:
    """Append one event (see `event`)."""
    appended = event(actor=actor, action=action, target=target, ip=ip, details=details,
                     actor_label=actor_label, finance=finance)
    appended.save()
    return appended


_COLUMNS = ["actor", "actor_label", "action", "target_type", "target_id", "target_label", "ip",
            "details", "finance", "created_at"]


def record_all(events: list[AuditEvent]) -> int:
    """Append many events (from `event`) in one batch: a periodic job's."""
    return bulk.insert_rows(AuditEvent, events, _COLUMNS)
