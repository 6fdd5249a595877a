"""Commerce fixtures: plans, tiers, a distributor owned by the admin, money, codes, coupons."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.utils import timezone

from apps.billing import services as billing
from apps.billing.models import Coupon, CouponKind, Plan
from apps.distribution import codes
from apps.distribution.models import ActivationCode, DistributorProfile, DistributorTier
from tests.factories import UserFactory

# The seeded rows; a transactional test's flush removes them, so the helpers put them back.
SEEDED_PLANS = import_module("apps.billing.migrations.0002_seed_plans").PLANS
SEEDED_TIERS = import_module("apps.distribution.migrations.0002_seed_tiers").TIERS


def plan(days: int) -> Plan:
    name, _days, price = next(row for row in SEEDED_PLANS if row[1] == days)
    return Plan.objects.get_or_create(duration_days=days, defaults={"name": name, "price_fen": price})[0]


def tier(slug: str = "gold") -> DistributorTier:
    _slug, name_zh, name_en, discount, commission, rank = next(t for t in SEEDED_TIERS if t[0] == slug)
    return DistributorTier.objects.get_or_create(slug=slug, defaults={
        "name_zh": name_zh, "name_en": name_en, "discount_percent": discount,
        "commission_percent": commission, "rank": rank})[0]


def give_profile(user, *, owner, slug: str = "gold") -> DistributorProfile:
    return DistributorProfile.objects.create(user=user, tier=tier(slug), owner=owner)


@pytest.fixture
def reseller(distributor, admin_user):
    """The distributor persona with a gold tier, owned by the admin persona."""
    give_profile(distributor, owner=admin_user)
    return distributor


@pytest.fixture
def other_admin(db):
    return UserFactory(username="ops2", role="admin")


@pytest.fixture
def fund(superadmin):
    """Money on a balance, booked the way a super admin tops up."""

    def top_up(user, amount_fen: int):
        return billing.top_up(actor=superadmin, user=user, amount_fen=amount_fen, reference="bank 42")

    return top_up


@pytest.fixture
def make_code(superadmin):
    """One activation code (30 days unless told), made by `created_by` (the super admin)."""

    def make(days: int = 30, *, created_by=None, **fields) -> ActivationCode:
        fields.setdefault("expires_at", timezone.now() + timedelta(days=365))
        fields.setdefault("paid", True)
        return ActivationCode.objects.create(code=codes.generate(), plan=plan(days),
                                             created_by=created_by or superadmin, **fields)

    return make


@pytest.fixture
def make_coupon(db):
    def make(code: str = "SPRING", *, kind: str = CouponKind.PERCENT, value: int = 10, plans=(),
             **fields) -> Coupon:
        coupon = Coupon.objects.create(code=code, kind=kind, value=value, **fields)
        coupon.plans.set(plans)
        return coupon

    return make


@pytest.fixture
def customers(db):
    """A factory of verified customers, for the races."""

    def make(count: int, prefix: str = "buyer") -> list:
        return [UserFactory(username=f"{prefix}{n}") for n in range(count)]

    return make
