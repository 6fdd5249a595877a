"""What the tests of the rental's surfaces (API, admin, pages) share: a customer renting relays
on servers run by the fake engine, and a snapshot of everything a refused request must leave
as it was."""

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.containers.models import DerpInstance, InstanceStatus
from apps.notifications.models import OutboundEmail
from apps.operations.models import Operation
from apps.rentals import services
from apps.rentals.models import Rental
from tests.containers.conftest import make_server


def rent(user: User, *, days: int = 30, servers: int = 3) -> User:
    """A rental begun the way a code activation begins it (the real verb)."""
    services.extend(user=user, days=days, actor=None, via="code", servers=servers)
    user.refresh_from_db()
    return user


def servers(n: int = 3):
    return [make_server(name=f"node-{i}") for i in range(n)]


def relays_of(user: User) -> list[tuple[int, int, str]]:
    """The customer's live relays: (server, port, status), in a stable order."""
    return sorted(DerpInstance.objects.live().filter(user=user)
                  .values_list("server_id", "port", "status"))


def running_containers(engine, user: User) -> int:
    names = set(DerpInstance.objects.filter(user=user).values_list("container_name", flat=True))
    return sum(1 for (_server, name), c in engine.containers.items()
               if name in names and c["running"])


def snapshot(user: User) -> dict:
    """Everything a request about `user` could change."""
    user = User.objects.get(pk=user.pk)
    rental = Rental.objects.filter(pk=user.pk).values().first()
    return {
        "user": (user.email, user.is_active, user.rental_state, user.rental_expiry,
                 user.deleted_at),
        "rental": rental,
        "audit": AuditEvent.objects.count(),
        "mail": OutboundEmail.objects.count(),
        "operations": Operation.objects.count(),
        "relays": relays_of(user),
    }


RUNNING = InstanceStatus.RUNNING
STOPPED = InstanceStatus.STOPPED
