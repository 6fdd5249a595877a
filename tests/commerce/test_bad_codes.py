"""Activating a bad code over the API: a clear 4xx, and nothing changes."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.distribution import codes, services
from apps.distribution.models import CodeStatus
from tests.commerce.helpers import refused, snapshot
from tests.conftest import token_client


def activate(user, code):
    return token_client(user).post("/api/serial/activate", {"code": code}, format="json")


def one_typo(code: str) -> str:
    replacement = "X" if code[3] != "X" else "Y"
    return codes.display(code[:3] + replacement + code[4:])


@pytest.mark.parametrize("typed", ["hello", "", "12345-67890", "!" * 29, 12345, ["a"]])
def test_a_malformed_code_is_refused_before_any_lookup(customer, typed):
    before = snapshot()
    refused(activate(customer, typed), 400)
    assert snapshot() == before


def test_a_typo_is_caught_by_the_checksum(customer, make_code):
    code = make_code()
    before = snapshot()
    error = refused(activate(customer, one_typo(code.code)), 400, "code_malformed")
    assert "typo" in error["message"]
    assert snapshot() == before


def test_a_well_formed_code_nobody_issued_is_unknown(customer):
    before = snapshot()
    refused(activate(customer, codes.generate()), 404, "code_unknown")
    assert snapshot() == before


def test_an_expired_code_is_refused(customer, make_code):
    code = make_code(expires_at=timezone.now() + timedelta(days=1))
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        before = snapshot()
        refused(activate(customer, code.display), 410, "code_expired")
        assert snapshot() == before
    code.refresh_from_db()
    assert code.status == CodeStatus.UNUSED and code.user is None


def test_a_used_code_is_refused_with_already_used(customer, stranger, make_code):
    code = make_code()
    services.redeem(user=customer, raw_code=code.code)
    before = snapshot()
    error = refused(activate(stranger, code.display), 409, "code_used")
    assert "already been used" in error["message"]
    refused(activate(customer, code.display), 409, "code_already_yours")
    assert snapshot() == before


def test_a_revoked_code_is_refused(customer, make_code, superadmin):
    code = make_code()
    services.revoke(actor=superadmin, code_ids=[code.pk])
    before = snapshot()
    refused(activate(customer, code.display), 410, "code_revoked")
    assert snapshot() == before


def test_wrong_codes_are_rate_limited_per_user(customer, make_code, settings):
    settings.RATE_REDEEM_PER_USER = "3/h"
    good = make_code()
    for _attempt in range(3):
        refused(activate(customer, codes.generate()), 404, "code_unknown")
    before = snapshot()
    error = refused(activate(customer, good.display), 429, "rate_limited")
    assert "try again" in error["message"]
    assert snapshot() == before


def test_an_unverified_customer_cannot_activate(make_code):
    from tests.factories import UserFactory

    newbie = UserFactory(username="newbie", email_verified=False)
    code = make_code()
    before = snapshot()
    refused(activate(newbie, code.display), 403, "email_unverified")
    assert snapshot() == before


def test_wrong_codes_are_rate_limited_per_address_across_accounts(make_code, settings):
    from tests.factories import UserFactory

    settings.RATE_REDEEM_PER_IP = "3/h"
    guessers = [UserFactory(username=f"guesser{n}") for n in range(4)]
    for guesser in guessers[:3]:
        refused(activate(guesser, codes.generate()), 404, "code_unknown")
    good = make_code()
    before = snapshot()
    refused(activate(guessers[3], good.display), 429, "rate_limited")
    assert snapshot() == before


def test_the_checksum_refuses_a_typo_without_touching_the_database(customer, make_code,
                                                                   django_assert_num_queries):
    typo = one_typo(make_code().code)
    with django_assert_num_queries(0), pytest.raises(services.CodeRefused) as refusal:
        services.redeem(user=customer, raw_code=typo)
    assert refusal.value.code == "code_malformed"
