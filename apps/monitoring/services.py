"""Alerts: opened once per (type, target) while the condition lasts, resolved by the code that
sees it clear, acknowledged by operators. Probes, reconcile, placement and traffic call these;
each notification goes out through `delivery` in the same transaction."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit import services as audit
from derpmgr.errors import ServiceError

from . import delivery
from .models import SEVERITY_RANK, Alert, AlertEvent, TargetKind


def target_of(target) -> tuple[str, int, str, int | None]:
    """(kind, id, label, server id) of what an alert is about: a server, a relay, a customer,
    or None for the whole fleet."""
    from apps.accounts.models import User
    from apps.containers.models import DerpInstance
    from apps.servers.models import Server

    if target is None:
        return TargetKind.FLEET, 0, str(_("Fleet")), None
    if isinstance(target, Server):
        return TargetKind.SERVER, target.pk, target.name, target.pk
    if isinstance(target, DerpInstance):
        label = f"{target.server.name}:{target.port} ({target.user.username})"
        return TargetKind.RELAY, target.pk, label[:200], target.server_id
    if isinstance(target, User):
        return TargetKind.CUSTOMER, target.pk, target.username, None
    raise TypeError(f"alerts are not about {type(target).__name__}")


def open_alert(*, type: str, target, severity: str, message: str,
               details: dict | None = None) -> Alert:
    """The open alert of this type about this target, opened now if there is none (and then
    notified). Seen again, it is refreshed (message, figures, a higher severity) without a new
    notification. Two probe runs at once still open one: the database allows one open alert
    per (type, target)."""
    kind, target_id, label, server_id = target_of(target)
    now = timezone.now()
    with transaction.atomic():
        current = Alert.objects.select_for_update().open().about(kind, target_id).filter(
            type=type).first()
        if current is None:
            try:
                with transaction.atomic():
                    alert = Alert.objects.create(
                        type=type, severity=severity, target_kind=kind, target_id=target_id,
                        target_label=label, server_id=server_id, message=message,
                        details=details or {}, opened_at=now, last_seen_at=now)
            except IntegrityError:  # opened a moment ago by a concurrent run: refresh that one
                current = Alert.objects.select_for_update().open().about(kind, target_id).get(
                    type=type)
            else:
                audit.record(actor=None, action="monitoring.alert_opened", target=alert,
                             details={"type": type, "severity": severity, "target": label,
                                      "message": message})
                delivery.notify(alert, AlertEvent.OPENED)
                return alert
        current.message, current.last_seen_at = message, now
        current.details = details or current.details
        escalated = SEVERITY_RANK[severity] > SEVERITY_RANK[current.severity]
        if escalated:
            current.severity = severity
        current.save(update_fields=["message", "last_seen_at", "details", "severity"])
        if escalated:  # channels that take only the higher severity hear of it now
            delivery.notify(current, AlertEvent.REPEATED)
        else:
            delivery.repeat_if_due(current)
        return current


def resolve_alert(*, type: str, target, note: str = "") -> Alert | None:
    """Close the open alert of this type about this target, if any (and notify)."""
    kind, target_id, _label, _server = target_of(target)
    with transaction.atomic():
        alert = Alert.objects.select_for_update().open().about(kind, target_id).filter(
            type=type).first()
        if alert is None:
            return None
        alert.resolved_at = timezone.now()
        alert.save(update_fields=["resolved_at"])
        audit.record(actor=None, action="monitoring.alert_resolved", target=alert,
                     details={"type": type, "target": alert.target_label, "note": note})
        delivery.notify(alert, AlertEvent.RESOLVED)
    return alert


def set_alert(*, condition: bool, type: str, target, severity: str, message: str,
              details: dict | None = None) -> Alert | None:
    """Open (or refresh) the alert while `condition` holds; resolve it once it does not."""
    if condition:
        return open_alert(type=type, target=target, severity=severity, message=message,
                          details=details)
    return resolve_alert(type=type, target=target)


def acknowledge(*, actor, alert: Alert, note: str, ip: str | None = None) -> Alert:
    """An operator has seen the alert and says what is being done; it stays open until the
    condition clears."""
    note = (note or "").strip()
    if not note:
        raise ServiceError(_("Say what is being done about it."), code="note_required",
                           fields={"note": [_("This field is required.")]})
    if len(note) > 2000:
        raise ServiceError(_("The note is too long (2000 characters at most)."),
                           code="note_too_long", fields={"note": [_("Too long.")]})
    with transaction.atomic():
        current = Alert.objects.select_for_update().get(pk=alert.pk)
        current.acknowledged_at, current.acknowledged_by = timezone.now(), actor
        current.acknowledgement = note
        current.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledgement"])
        audit.record(actor=actor, action="monitoring.alert_acknowledged", target=current, ip=ip,
                     details={"type": current.type, "target": current.target_label, "note": note})
    return current
