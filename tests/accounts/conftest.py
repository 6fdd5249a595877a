"""Fixtures shared by the accounts tests."""

import pytest
import time_machine
from django.utils import timezone

from apps.accounts.models import Role
from tests.factories import UserFactory


@pytest.fixture
def unverified(db):
    """A customer who registered but has not followed the e-mailed link yet."""
    return UserFactory(username="newbie", role=Role.USER, email_verified=False)


@pytest.fixture
def frozen_clock():
    """Time stands still (rate-limit windows and TOTP steps stay put) until the test moves it."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller
