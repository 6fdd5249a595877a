"""How a rental stands, for those who read it: the customer's page, the operators' customer page,
the API and the ops dashboard. Reads only; every change is a verb of services.py."""

import dataclasses
import datetime
import math

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format

from apps.accounts.models import RentalState, User
from apps.containers.models import DerpInstance, InstanceStatus
from apps.operations.jobs import interval_of
from apps.operations.models import Operation

from . import services
from .models import RelayIntent, Reminder, Rental

# Relays that serve the customer now (a relay being moved keeps serving from its old place).
SERVING = (InstanceStatus.RUNNING, InstanceStatus.MIGRATING)
RECOVERY_TASK = "rentals.recover_shortfalls"
LIST_SIZE = 50


@dataclasses.dataclass(frozen=True)
class RentalStatus:
    user: User
    rental: Rental
    promised: int
    running: int
    missing: int
    intent: str
    relay_work_pending: bool
    operation_id: int | None
    reminders_sent: list[Reminder]

    @property
    def state(self) -> str:
        return self.user.rental_state

    @property
    def state_display(self) -> str:
        return self.user.get_rental_state_display()

    @property
    def end(self) -> datetime.datetime | None:
        return self.user.rental_expiry

    @property
    def short_of_relays(self) -> bool:
        return self.intent == RelayIntent.RUN and self.missing > 0

    @property
    def suspended(self) -> bool:
        return self.state == RentalState.SUSPENDED

    @property
    def deleted(self) -> bool:
        return self.user.deleted_at is not None


def rental_status(user: User) -> RentalStatus:
    """The rental of `user` as it stands: state, end, the relays promised and running, the relay
    work still owed (and the operation doing it), the reminders sent this period."""
    rental = services.rental_of(user)
    intent = rental.relay_intent(user)
    running = DerpInstance.objects.filter(user=user, status__in=SERVING).count()
    promised = rental.servers if user.rental_state != RentalState.NONE else 0
    operation = (Operation.objects.active().about(customer=user).order_by("-pk")
                 .values_list("pk", flat=True).first())
    reminders = list(Reminder.objects.filter(rental_id=user.pk, period=rental.period)
                     .order_by("-days_before"))
    return RentalStatus(
        user=user, rental=rental, promised=promised, running=running,
        missing=max(0, promised - running) if intent == RelayIntent.RUN else 0, intent=intent,
        relay_work_pending=not rental.relays_settled or operation is not None,
        operation_id=operation, reminders_sent=reminders)


def visible_account(viewer, pk: int) -> User | None:
    """The account `pk` if `viewer` may see it; None otherwise, and for ids no row can have (the
    API and the pages answer 404 alike)."""
    return User.objects.visible_to(viewer).filter(pk=pk).first() if 0 < pk < 2**63 else None


def end_label(user: User) -> str:
    """The rental's end as customers and operators read it: the panel's time zone, to the
    minute, with the zone named."""
    if user.rental_expiry is None:
        return "—"
    end = timezone.localtime(user.rental_expiry, timezone.get_default_timezone())
    return f"{date_format(end, 'Y-m-d H:i')} ({timezone.get_default_timezone_name()})"


def shortfall_check_minutes() -> int:
    """How often customers short of relays are retried (the periodic job as the super admin
    set it, else its default), in whole minutes."""
    return max(1, math.ceil(interval_of(RECOVERY_TASK) / 60))


# --- The operators' lists --------------------------------------------------------------------

def _with_running(rentals):
    serving = (DerpInstance.objects.filter(user_id=OuterRef("pk"), status__in=SERVING)
               .order_by().values("user_id").annotate(n=Count("pk")).values("n"))
    return rentals.annotate(running=Coalesce(Subquery(serving, output_field=IntegerField()), 0))


def _with_operations(rentals: list[Rental]) -> list[Rental]:
    active = dict(Operation.objects.active().filter(customer_id__in=[r.pk for r in rentals])
                  .order_by("pk").values_list("customer_id", "pk"))
    for rental in rentals:
        rental.operation_id = active.get(rental.pk)
    return rentals


def _visible(rentals, viewer):
    return rentals.filter(user__in=User.objects.visible_to(viewer)).select_related("user")


def short_of_relays(viewer, *, limit: int = LIST_SIZE) -> list[Rental]:
    """Customers with fewer running relays than their rental promises, longest waiting first."""
    rentals = _with_running(_visible(Rental.objects.short_of_relays(), viewer))
    return _with_operations(list(rentals.order_by("updated_at")[:limit]))


def relay_work_pending(viewer, *, limit: int = LIST_SIZE) -> list[Rental]:
    """Customers whose relays do not yet do what their rental wants (work queued, running or
    failed and to be sent again), longest waiting first."""
    rentals = _with_running(_visible(Rental.objects.filter(relays_settled=False), viewer))
    return _with_operations(list(rentals.order_by("updated_at")[:limit]))
