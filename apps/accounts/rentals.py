"""The customer's rental period. Callers (code activation, purchases, admin renewals) hold the
transaction; this module keeps the rule in one place: a rental extends from the later of now and
the current expiry, and any extension makes the rental active."""

from datetime import datetime, timedelta

from django.utils import timezone

from apps.audit import services as audit
from apps.notifications import services as notifications

from .models import RentalState, User


def extend_rental(*, user: User, days: int, actor, via: str, ip: str | None = None,
                  details: dict | None = None, servers: int | None = None,
                  pinned_ids=()) -> tuple[datetime | None, datetime]:
    """Add `days` to the user's rental; returns (old expiry, new expiry). Must run inside the
    caller's transaction so that the payment and the extension commit together; the relays are
    provisioned (or restarted) once it commits."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    now = timezone.now()
    old_expiry = locked.rental_expiry
    renewal = locked.rental_state != RentalState.NONE
    start = max(now, old_expiry) if old_expiry else now
    locked.rental_expiry = start + timedelta(days=days)
    locked.rental_state = RentalState.ACTIVE
    locked.save(update_fields=["rental_expiry", "rental_state"])
    user.rental_expiry, user.rental_state = locked.rental_expiry, locked.rental_state
    audit.record(actor=actor, action="accounts.rental_extended", target=locked, ip=ip,
                 details={"days": days, "via": via, "renewal": renewal,
                          "from": old_expiry.isoformat() if old_expiry else None,
                          "to": locked.rental_expiry.isoformat(), **(details or {})})
    notifications.send_to_user(
        user=locked, template="renewal-succeeded" if renewal else "activation-succeeded",
        context={"days": days, "expiry": locked.rental_expiry})
    from apps.acl import admission
    from apps.containers import services as containers

    admission.invalidate_user_on_commit(locked.pk)  # the relays' answers follow the rental
    containers.request_provisioning(user=locked, servers=servers, pinned_ids=pinned_ids)
    return old_expiry, locked.rental_expiry
