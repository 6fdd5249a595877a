"""Writing the system log. Callers are services, inside the transaction of the change."""

from django.db import models

from .models import AuditEvent

# Keys whose values must never reach the log, wherever they appear in details.
_SECRET_KEYS = frozenset({"password", "token", "secret", "key", "otp", "code", "credential"})


def _scrub(value):
    if isinstance(value, dict):
        return {k: ("***" if k.lower() in _SECRET_KEYS else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def record(*, actor, action: str, target: models.Model | None = None, ip: str | None = None,
           details: dict | None = None, actor_label: str = "") -> AuditEvent:
    """Append one event. `actor` may be None (the system, or an anonymous visitor)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=actor_label or (str(actor) if actor is not None else ""),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:254] if target is not None else "",
        ip=ip or None,
        details=_scrub(details or {}),
    )
