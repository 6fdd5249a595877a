"""Concurrent registrations of one address: the database decides, exactly one account wins; the
others get the same quiet outcome as any registration (no error that would tell them apart)."""

import threading

import pytest
from django.db import connection

from apps.accounts import services
from apps.accounts.models import User
from tests.accounts.helpers import STRONG_PASSWORD, mails_to

ATTEMPTS = 10


@pytest.mark.postgres
def test_ten_simultaneous_registrations_of_one_address_make_one_account(transactional_db):
    start = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []
    unexpected: list[BaseException] = []

    def register(n: int) -> None:
        try:
            start.wait()
            registration = services.register(
                email="Race@Example.com" if n % 2 else "race@example.com",
                username=f"racer{n}", password=STRONG_PASSWORD, language="en")
            outcomes.append("created" if registration.user else "quiet")
        except BaseException as exc:  # reported below: the test must see it, not the thread
            unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert unexpected == []
    assert sorted(outcomes) == ["created"] + ["quiet"] * (ATTEMPTS - 1)
    assert User.objects.filter(email__iexact="race@example.com").count() == 1
    assert len(mails_to("race@example.com", template="verify-email")) == 1
