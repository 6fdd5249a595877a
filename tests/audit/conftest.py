"""Audit events at chosen times, for the filter and pagination tests."""

from datetime import UTC, datetime

import pytest

from apps.audit.models import AuditEvent


def at(text: str) -> datetime:
    """An aware UTC time from 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@pytest.fixture
def make_event(db):
    def make(action: str = "accounts.login", *, actor=None, target=None, when: str = "2024-05-01 12:00",
             ip: str | None = "192.0.2.10", **details) -> AuditEvent:
        return AuditEvent.objects.create(
            actor=actor,
            actor_label=str(actor) if actor is not None else "",
            action=action,
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            target_label=str(target) if target is not None else "",
            ip=ip,
            details=details,
            created_at=at(when),
        )

    return make
