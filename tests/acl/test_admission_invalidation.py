"""The cached answers follow every change: a device removed or added, a relay stopped, the rental's
state changed, the derpMap expired or destroyed — each takes effect at the next connection."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from apps.accounts.models import RentalState
from apps.acl import services
from apps.containers import services as containers
from apps.rentals.services import extend
from tests.acl.conftest import ask, give_rental, node_key


@pytest.fixture
def client():
    return Client()


@pytest.fixture
def admitted(client, renter, relays, django_capture_on_commit_callbacks):
    """The renter's laptop, admitted once (so its answer is cached)."""
    with django_capture_on_commit_callbacks(execute=True):
        device = services.add_device(user=renter, name="laptop", node_key=node_key(1))
        services.issue_version(user=renter, reason="test")
    assert ask(client, relays[0], node_key(1)) is True
    return device


def test_a_removed_device_is_denied_at_once(client, renter, relays, admitted,
                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.remove_device(actor=renter, device=admitted)
    assert ask(client, relays[0], node_key(1)) is False


def test_an_added_device_is_admitted_at_once(client, renter, relays, admitted,
                                             django_capture_on_commit_callbacks):
    assert ask(client, relays[0], node_key(2)) is False  # cached as unknown
    with django_capture_on_commit_callbacks(execute=True):
        services.add_device(user=renter, name="phone", node_key=node_key(2))
    assert ask(client, relays[0], node_key(2)) is True


def test_a_stopped_relay_admits_nobody(client, relays, admitted, admin_user, fake_engine,
                                       django_capture_on_commit_callbacks):
    fake_engine.run_relay(relays[0])
    with django_capture_on_commit_callbacks(execute=True):
        containers.stop_instance(actor=admin_user, instance=relays[0])
    assert ask(client, relays[0], node_key(1)) is False
    assert ask(client, relays[1], node_key(1)) is True


def test_a_change_of_rental_state_takes_effect_at_once(client, renter, relays, admitted, superadmin,
                                                       django_capture_on_commit_callbacks):
    give_rental(renter, state=RentalState.SUSPENDED)  # (suspension itself arrives later)
    with django_capture_on_commit_callbacks(execute=True):
        services.issue_version(user=renter, reason="test")  # any change would do to drop the cache
    assert ask(client, relays[0], node_key(1)) is False

    with django_capture_on_commit_callbacks(execute=True):
        extend(user=renter, days=30, actor=superadmin, via="test")
    assert ask(client, relays[0], node_key(1)) is True


def test_an_expired_derpmap_admits_nobody(client, relays, admitted):
    expires = services.current_acl(relays[0].user).expires_at
    with time_machine.travel(expires + timedelta(seconds=1), tick=False):
        assert ask(client, relays[0], node_key(1)) is False


def test_a_rental_that_ends_admits_nobody_from_its_end(client, renter, relays, admitted):
    with time_machine.travel(renter.rental_expiry + timedelta(seconds=1), tick=False):
        assert ask(client, relays[0], node_key(1)) is False


def test_destroyed_derpmaps_admit_nobody(client, renter, relays, admitted,
                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.destroy_all(user=renter)
    assert ask(client, relays[0], node_key(1)) is False


def test_a_reissued_derpmap_extends_the_answer(client, renter, relays, admitted,
                                               django_capture_on_commit_callbacks):
    old = services.current_acl(renter).expires_at
    later = old - timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        renter.rental_expiry = timezone.now() + timedelta(days=60)
        renter.save(update_fields=["rental_expiry"])
        with django_capture_on_commit_callbacks(execute=True):
            services.reissue(actor=renter, user=renter)
    with time_machine.travel(old + timedelta(hours=1), tick=False):
        assert ask(client, relays[0], node_key(1)) is True


def test_an_admin_suspending_the_rental_in_the_admin_takes_effect_at_once(
        client, renter, relays, admitted, admin_user, django_capture_on_commit_callbacks):
    from django.contrib.admin import helpers

    from tests.conftest import signed_in_client

    staff = signed_in_client(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post("/admin/accounts/user/", {
            "action": "suspend", "index": 0, helpers.ACTION_CHECKBOX_NAME: [renter.pk],
            "apply": 1, "reason": "abuse"}).status_code == 302
    assert ask(client, relays[0], node_key(1)) is False
