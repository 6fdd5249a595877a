"""A version is valid for 32 days from issue; the periodic job re-issues it a few days before it
ends while the rental is active, and only then."""

from datetime import UTC, datetime, timedelta

import time_machine

from apps.accounts.models import RentalState
from apps.acl import services, tasks
from apps.acl.models import AclConfig

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def long_rental(user, *, state=RentalState.ACTIVE, days=120):
    user.rental_state, user.rental_expiry = state, T0 + timedelta(days=days)
    user.save(update_fields=["rental_state", "rental_expiry"])


def test_a_version_is_valid_for_32_days(renter):
    with time_machine.travel(T0, tick=False):
        acl = services.issue_version(user=renter, reason="test")
    assert acl.issued_at == T0 and acl.expires_at == T0 + timedelta(days=32)
    with time_machine.travel(T0 + timedelta(days=32) - timedelta(seconds=1), tick=False):
        assert acl.is_valid
    with time_machine.travel(T0 + timedelta(days=32), tick=False):
        assert not acl.is_valid


def test_the_job_reissues_shortly_before_expiry_once(renter, relays):
    long_rental(renter)
    with time_machine.travel(T0, tick=False):
        services.issue_version(user=renter, reason="test")
    with time_machine.travel(T0 + timedelta(days=28), tick=False):
        assert tasks.reissue_expiring() == 0  # four days left: not yet
    with time_machine.travel(T0 + timedelta(days=30), tick=False):
        assert tasks.reissue_expiring() == 1
        assert tasks.reissue_expiring() is None  # sent again in the same interval: not run
        assert services.reissue_expiring() == 0  # and run anyway, it re-issues nothing twice
        latest = services.current_acl(renter)
    assert latest.version == 2 and latest.reason == "renewed"
    assert latest.expires_at == T0 + timedelta(days=62)


def test_an_active_rental_without_a_version_gets_one(renter):
    long_rental(renter)
    with time_machine.travel(T0, tick=False):
        assert tasks.reissue_expiring() == 1
    assert services.current_acl(renter).version == 1


def test_no_reissue_without_an_active_rental(customer, stranger):
    long_rental(customer, state=RentalState.SUSPENDED)
    long_rental(stranger, days=-1)  # active in name, but past its end
    for user in (customer, stranger):
        with time_machine.travel(T0 - timedelta(days=40), tick=False):
            services.issue_version(user=user, reason="test")
    with time_machine.travel(T0, tick=False):
        assert tasks.reissue_expiring() == 0
    assert AclConfig.objects.count() == 2


def test_a_download_after_expiry_gets_a_fresh_version(renter, relays):
    long_rental(renter)
    with time_machine.travel(T0, tick=False):
        services.issue_version(user=renter, reason="test")
    with time_machine.travel(T0 + timedelta(days=40), tick=False):
        acl = services.check_download(renter)
    assert acl.version == 2 and acl.issued_at == T0 + timedelta(days=40)
