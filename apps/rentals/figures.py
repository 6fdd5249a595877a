"""The ops dashboard's key numbers: customers, relays, servers, payments and, for those who may
see finance, today's revenue.

Each group is one aggregate query over the rows the viewer may see (`visible_to`), asked only of
those holding the group's permission (None otherwise, and the page leaves the group out): the
page costs the same number of queries however many rows there are. Reads only.
"""

from datetime import datetime, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.accounts import policy
from apps.accounts.models import RentalState, Role, User
from apps.audit.visibility import may_see_finance
from apps.billing import periods
from apps.billing.models import Order, OrderStatus, format_fen
from apps.containers.models import DerpInstance, InstanceStatus
from apps.servers.models import Server, ServerStatus

from .status import SERVING

EXPIRING_WITHIN = timedelta(days=7)


def customers(viewer, now: datetime) -> dict:
    """Customers whose rental runs now (active, not past its end, account not disabled), those
    of them ending within EXPIRING_WITHIN, and the suspended."""
    running = Q(rental_state=RentalState.ACTIVE, rental_expiry__gt=now, is_active=True)
    return (User.objects.visible_to(viewer).filter(role=Role.USER, deleted_at__isnull=True)
            .aggregate(active=Count("pk", filter=running),
                       expiring=Count("pk", filter=running
                                      & Q(rental_expiry__lte=now + EXPIRING_WITHIN)),
                       suspended=Count("pk", filter=Q(rental_state=RentalState.SUSPENDED))))


def relays(viewer) -> dict:
    """Relays serving (running, or running while being moved), failed, and being set up."""
    counted = (*SERVING, InstanceStatus.ERROR, InstanceStatus.PENDING)
    return (DerpInstance.objects.visible_to(viewer).filter(status__in=counted)
            .aggregate(running=Count("pk", filter=Q(status__in=SERVING)),
                       failed=Count("pk", filter=Q(status=InstanceStatus.ERROR)),
                       setting_up=Count("pk", filter=Q(status=InstanceStatus.PENDING))))


def servers(viewer) -> dict:
    return Server.objects.visible_to(viewer).aggregate(
        total=Count("pk"),
        unhealthy=Count("pk", filter=Q(status=ServerStatus.UNHEALTHY)),
        over_quota=Count("pk", filter=Q(status=ServerStatus.OVER_QUOTA)))


def pending_payments(viewer, *, with_amount: bool) -> dict:
    """Orders waiting for their payment (the amount only for those who may see finance)."""
    figures = (Order.objects.visible_to(viewer).filter(status=OrderStatus.PENDING)
               .aggregate(count=Count("pk"), amount_fen=Coalesce(Sum("amount_fen"), 0)))
    figures["amount"] = format_fen(figures.pop("amount_fen")) if with_amount else None
    return figures


def revenue_since(start: datetime) -> int:
    """Fen earned from `start` on, as the finance page counts it (Order.objects.earned():
    completed or renewed batches, purchases and renewals; never pending, cancelled, refunded
    orders or top-ups, which are prepaid money)."""
    return (Order.objects.earned().filter(completed_at__gte=start)
            .aggregate(total=Coalesce(Sum("amount_fen"), 0))["total"])


def key_numbers(viewer, *, now: datetime | None = None) -> dict:
    """Every group `viewer` may read, keyed by name; None for a group they may not."""
    now = now or timezone.now()
    finance = may_see_finance(viewer)
    revenue = revenue_since(periods.day_start(now)) if finance else None

    def allowed(permission: str, read):
        return read() if policy.can(viewer, permission) else None

    return {
        "customers": allowed("rentals.view_rental", lambda: customers(viewer, now)),
        "relays": allowed("containers.view_derpinstance", lambda: relays(viewer)),
        "servers": allowed("servers.view_server", lambda: servers(viewer)),
        "payments": allowed("billing.view_order",
                            lambda: pending_payments(viewer, with_amount=finance)),
        "revenue_today": None if revenue is None else format_fen(revenue),
        "revenue_today_fen": revenue,
    }
