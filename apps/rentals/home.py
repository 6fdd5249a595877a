"""What a customer's home page tells them beside the rental's state: days left, devices against
their plan's limit, and the derpMap version they should be using. Reads only; a fixed number
of queries whatever the customer has."""

import dataclasses
import math
from datetime import datetime

from django.utils import timezone

from apps.accounts.models import RentalState, User
from apps.acl import services as acl
from apps.acl.models import AclConfig, Device

SECONDS_PER_DAY = 86_400


@dataclasses.dataclass(frozen=True)
class CustomerHome:
    days_left: int | None  # None: no rental; 0: past its end
    devices: int
    device_limit: int
    derp_map: AclConfig | None  # the newest version issued (None: none yet)
    derp_map_valid: bool


def days_left(user: User, now: datetime) -> int | None:
    """Whole days to the rental's end, a started day counting as one (a rental ending in five
    hours has 1 day left); 0 once past it, None without a rental."""
    if user.rental_state == RentalState.NONE or user.rental_expiry is None:
        return None
    remaining = (user.rental_expiry - now).total_seconds()
    return max(0, math.ceil(remaining / SECONDS_PER_DAY))


def customer_home(user: User, *, now: datetime | None = None) -> CustomerHome:
    now = now or timezone.now()
    derp_map = acl.current_acl(user)
    return CustomerHome(
        days_left=days_left(user, now),
        devices=Device.objects.filter(user=user).count(),
        device_limit=acl.max_devices_for(user),
        derp_map=derp_map,
        derp_map_valid=derp_map is not None and derp_map.expires_at > now)
