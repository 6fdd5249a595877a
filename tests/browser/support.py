"""What the browser tests set up directly (what an operator or a worker would have done), and
small readers of what the panel left behind."""

from datetime import timedelta

from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from apps.billing.models import Plan
from apps.distribution import codes
from apps.distribution.models import ActivationCode, DistributorProfile, DistributorTier
from apps.servers.models import Server
from tests.containers.conftest import make_server
from tests.factories import enrol_totp
from tests.servers.conftest import HOST_KEY


def plan(days: int = 30, **fields) -> Plan:
    """A plan on sale of its own (the seeded plans are there only until the first live-server
    test empties the database)."""
    fields.setdefault("name", f"{days} days")
    fields.setdefault("price_fen", 3900)
    fields.setdefault("servers_per_rental", 1)
    return Plan.objects.create(duration_days=days, **fields)


def server(name: str) -> Server:
    """A healthy server row with room for relays and a well-formed pinned host key."""
    row = make_server(name=name)
    row.ssh_host_key = HOST_KEY
    row.save(update_fields=["ssh_host_key"])
    return row


def code_for(plan_: Plan, *, made_by) -> ActivationCode:
    """A paid, unused code, as an operator issues it."""
    return ActivationCode.objects.create(code=codes.generate(), plan=plan_, created_by=made_by,
                                         paid=True, expires_at=timezone.now() + timedelta(days=365))


def distributor_profile(user, *, owner) -> DistributorProfile:
    """(The seeded tiers are there only until the first live-server test empties the database.)"""
    tier, _new = DistributorTier.objects.update_or_create(
        slug="gold", defaults={"name_zh": "黄金", "name_en": "Gold", "discount_percent": 10,
                               "commission_percent": 5})
    return DistributorProfile.objects.create(user=user, tier=tier, owner=owner)


def sign_in(context, user, *, panel: str) -> None:
    """The browser context carries `user`'s session (staff: with the OTP step passed), as if
    they had signed in; the sign-in pages have their own browser test."""
    client = Client()
    client.force_login(user)
    if user.mfa_required:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = enrol_totp(user).persistent_id
        session.save()
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                          "url": panel}])
