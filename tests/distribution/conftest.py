"""A distributor with a tier and an owning admin, a funded balance, and codes in every state."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.billing import services as billing
from apps.billing.models import Plan
from apps.distribution import services
from apps.distribution.models import ActivationCode, DistributorProfile, DistributorTier
from tests.conftest import signed_in_client
from tests.factories import UserFactory

FUNDS_FEN = 100_000  # ¥1,000.00


@pytest.fixture
def gold(db):
    """The seeded 黄金 tier: 10% off code batches, 5% commission."""
    return DistributorTier.objects.get(slug="gold")


@pytest.fixture
def month(db):
    """The seeded 30-day plan at ¥39.00."""
    return Plan.objects.get(duration_days=30)


@pytest.fixture
def dealer(distributor, gold, admin_user):
    DistributorProfile.objects.create(user=distributor, tier=gold, owner=admin_user)
    return distributor


@pytest.fixture
def funded(dealer, superadmin):
    billing.top_up(actor=superadmin, user=dealer, amount_fen=FUNDS_FEN, reference="bank transfer 1")
    return dealer


@pytest.fixture
def portal(dealer):
    return signed_in_client(dealer)


@pytest.fixture
def rival(db, gold, admin_user):
    """Another distributor, whose codes must never show in the first one's portal."""
    other = UserFactory(username="competitor", role="distributor")
    DistributorProfile.objects.create(user=other, tier=gold, owner=admin_user)
    return other


@pytest.fixture
def make_codes(month):
    """`n` unpaid codes for `owner` (a pending order), optionally already past their deadline."""

    def make(owner, n: int = 1, *, plan=None, lapsed: bool = False) -> list[ActivationCode]:
        batch, _order = services.generate_codes(actor=owner, plan=plan or month, quantity=n,
                                                pay_with_balance=False)
        if lapsed:
            ActivationCode.objects.filter(pk__in=[c.pk for c in batch]).update(
                expires_at=timezone.now() - timedelta(minutes=1))
        return list(ActivationCode.objects.filter(pk__in=[c.pk for c in batch]).order_by("pk"))

    return make


@pytest.fixture
def activate():
    """A customer activates a code (and so is brought in by its distributor)."""

    def use(code: ActivationCode, user) -> ActivationCode:
        services.redeem(user=user, raw_code=code.display)
        code.refresh_from_db()
        return code

    return use


REVIEW_TOKEN = re.compile(r'name="review" value="([^"]+)"')


def review_token(response) -> str | None:
    found = REVIEW_TOKEN.search(response.content.decode())
    return found.group(1) if found else None


def buy_batch(client, form: dict, **extra):
    """A batch bought the way a distributor does: the form, its review, then Confirm. The
    review's answer when it shows no review (a bad quantity, no tier)."""
    reviewed = client.post("/portal/codes/generate/", form)
    token = review_token(reviewed)
    if token is None:
        return reviewed
    return client.post("/portal/codes/generate/confirm/", {**form, "review": token}, **extra)
