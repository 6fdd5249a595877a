"""Fixtures for the customer's commerce pages: codes, coupons, money on a balance, a frozen clock."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.billing import services as billing
from apps.billing.models import Coupon, CouponKind, Plan
from apps.distribution import codes
from apps.distribution.models import ActivationCode
from tests.conftest import signed_in_client

NOW = datetime(2030, 1, 10, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai


@pytest.fixture
def frozen_clock():
    """The clock stands at NOW (rate-limit windows stay put) until the test moves it."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def page(customer):
    """The customer's browser session."""
    return signed_in_client(customer)


def plan(days: int) -> Plan:
    return Plan.objects.get(duration_days=days)


@pytest.fixture
def make_code(superadmin):
    """An activation code for a plan, made by `created_by` (an operator unless told)."""

    def make(days: int = 30, *, created_by=None, **fields) -> ActivationCode:
        fields.setdefault("expires_at", timezone.now() + timedelta(days=365))
        return ActivationCode.objects.create(code=codes.generate(), plan=plan(days),
                                             created_by=created_by or superadmin, paid=True, **fields)

    return make


@pytest.fixture
def fund(superadmin):
    """Money on a balance, booked the way a super admin tops up."""

    def top_up(user, amount_fen: int):
        return billing.top_up(actor=superadmin, user=user, amount_fen=amount_fen, reference="bank 42")

    return top_up


@pytest.fixture
def make_coupon(db):
    def make(code: str = "SPRING", *, kind: str = CouponKind.PERCENT, value: int = 10, plans=(),
             **fields) -> Coupon:
        coupon = Coupon.objects.create(code=code, kind=kind, value=value, **fields)
        coupon.plans.set(plans)
        return coupon

    return make


def mistyped(code: str) -> str:
    """The displayed code with one character of its random part changed so that the checksum
    no longer matches: the typo a customer makes reading it off a receipt."""
    display = codes.display(code)
    position = 7  # second group, second character
    for replacement in codes.ALPHABET:
        if replacement == display[position]:
            continue
        typo = display[:position] + replacement + display[position + 1:]
        try:
            codes.normalise(typo)
        except codes.InvalidCode:
            return typo
    raise AssertionError("every typo passed the checksum")  # odds: (1/32,768) ** 31


def text(response) -> str:
    return response.content.decode()


REVIEW_TOKEN = re.compile(r'name="review" value="([^"]+)"')


def review_token(response) -> str | None:
    """The signed review a review page's Confirm button sends back (None: no review shown)."""
    found = REVIEW_TOKEN.search(text(response))
    return found.group(1) if found else None


def review_purchase(client, days: int, coupon: str = ""):
    """The buy page's form sent: the review page (nothing is charged yet)."""
    return client.post("/billing/buy/", {"plan": plan(days).pk, "coupon": coupon})


def buy_from_page(client, days: int, coupon: str = "", **extra):
    """Buying the way a customer does: the form, its review, then Confirm. The review's answer
    when it shows no review (a refused coupon, a plan not on sale)."""
    reviewed = review_purchase(client, days, coupon)
    token = review_token(reviewed)
    if token is None:
        return reviewed
    return client.post("/billing/buy/confirm/", {"review": token, "plan": plan(days).pk,
                                                 "coupon": coupon}, **extra)
