"""Nobody can lock an account's owner out with wrong passwords.

Hard limits hold only where the guesser's own address is part of the key (per address, per
account and address pair); account-wide, wrong passwords slow every attempt on the account down
(a growing, capped wait, recorded here by the `login_slowdown` fixture instead of spent) but the
right password from another address still signs in. Windows slide, on the database cache and on
Redis (run this file with REDIS_URL set).
"""

import datetime as dt

import pytest

from apps.accounts import login_limits
from apps.accounts.models import ApiToken, Role
from derpmgr import ratelimits
from tests.accounts.helpers import error_of
from tests.factories import PASSWORD, UserFactory, current_totp, enrol_totp

pytestmark = pytest.mark.django_db

ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


@pytest.fixture
def victim(db):
    return UserFactory(username="victim", email="victim@example.com", role=Role.USER)


@pytest.fixture
def limits(settings, frozen_clock):
    settings.RATE_LOGIN_PER_IP = "30/10m"
    settings.RATE_LOGIN_PER_ACCOUNT_IP = "10/10m"
    settings.LOGIN_SLOWDOWN_AFTER = "5/10m"
    settings.LOGIN_SLOWDOWN_MAX_SECONDS = 3
    return settings


def api_attempt(client, email, password, address):
    return client.post("/api/user/login", {"email": email, "password": password}, format="json",
                       REMOTE_ADDR=address)


def page_attempt(client, email, password, address):
    return client.post("/accounts/login/", {"email": email, "password": password},
                       REMOTE_ADDR=address)


def guess_twenty_times(client, email, address=ATTACKER):
    return [api_attempt(client, email, f"guess number {n}", address).status_code
            for n in range(20)]


def test_twenty_wrong_passwords_from_one_address_do_not_lock_the_owner_out_of_the_api(
        limits, anon_api, victim, login_slowdown):
    statuses = guess_twenty_times(anon_api, victim.email)

    response = api_attempt(anon_api, victim.email, PASSWORD, OWNER)

    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
    assert response.status_code == 200, response.json()
    assert response.json()["token"]
    assert ApiToken.objects.filter(user=victim).count() == 1
    assert 0 < login_slowdown[-1] <= 3  # slowed down, not blocked


def test_a_super_admin_is_not_locked_out_either(limits, anon_api, superadmin):
    device = enrol_totp(superadmin)
    guess_twenty_times(anon_api, superadmin.email)

    response = anon_api.post("/api/user/login", {"email": superadmin.email, "password": PASSWORD,
                                                 "otp": current_totp(device)},
                             format="json", REMOTE_ADDR=OWNER)

    assert response.status_code == 200, response.json()
    assert ApiToken.objects.filter(user=superadmin).count() == 1


def test_twenty_wrong_passwords_do_not_lock_the_owner_out_of_the_sign_in_page(
        limits, anon_api, anon_client, victim):
    guess_twenty_times(anon_api, victim.email)

    response = page_attempt(anon_client, victim.email, PASSWORD, OWNER)

    assert response.status_code == 302
    assert anon_client.session["_auth_user_id"] == str(victim.pk)


def test_the_guessing_address_is_held_back_even_with_the_right_password(
        limits, anon_api, victim):
    guess_twenty_times(anon_api, victim.email)

    response = api_attempt(anon_api, victim.email, PASSWORD, ATTACKER)

    assert response.status_code == 429
    assert error_of(response)["code"] == "rate_limited"
    assert not ApiToken.objects.exists()


def test_one_address_is_limited_across_accounts(limits, anon_api, victim):
    limits.RATE_LOGIN_PER_IP = "5/10m"
    statuses = [api_attempt(anon_api, f"user{n}@example.com", "guess", ATTACKER).status_code
                for n in range(6)]

    assert statuses == [401] * 5 + [429]
    assert api_attempt(anon_api, victim.email, PASSWORD, OWNER).status_code == 200


def test_the_pair_limit_holds_for_exactly_its_count(limits, anon_api, victim):
    limits.RATE_LOGIN_PER_ACCOUNT_IP = "3/10m"
    statuses = [api_attempt(anon_api, victim.email, "guess", ATTACKER).status_code
                for _n in range(4)]

    assert statuses == [401, 401, 401, 429]
    # The same address may still try other accounts (up to its own limit).
    assert api_attempt(anon_api, "other@example.com", "guess", ATTACKER).status_code == 401


def test_the_pair_limit_is_on_the_page_too(limits, anon_client, victim):
    limits.RATE_LOGIN_PER_ACCOUNT_IP = "2/10m"
    for _n in range(2):
        page_attempt(anon_client, victim.email, "guess", ATTACKER)

    response = page_attempt(anon_client, victim.email, PASSWORD, ATTACKER)

    assert response.status_code == 429
    assert "_auth_user_id" not in anon_client.session


def test_the_slow_down_grows_with_recent_failures_and_is_capped(limits):
    assert [login_limits.delay_for(n) for n in (0, 4, 5, 6, 7, 8, 9, 50)] == [
        0, 0, 0.25, 0.5, 1, 2, 3, 3]


def test_every_attempt_on_a_guessed_account_waits_the_right_password_too(
        limits, anon_api, victim, login_slowdown):
    for n in range(7):
        api_attempt(anon_api, victim.email, "guess", f"192.0.2.{n}")
    assert login_slowdown == [0.25, 0.5]  # the 6th and 7th attempts waited

    api_attempt(anon_api, victim.email, PASSWORD, OWNER)

    assert login_slowdown[-1] == 1


def test_other_accounts_are_not_slowed(limits, anon_api, victim, customer, login_slowdown):
    guess_twenty_times(anon_api, victim.email)
    login_slowdown.clear()

    assert api_attempt(anon_api, customer.email, PASSWORD, OWNER).status_code == 200
    assert login_slowdown == []


def test_the_slow_down_wears_off_as_the_window_slides(limits, anon_api, victim, frozen_clock,
                                                      login_slowdown):
    guess_twenty_times(anon_api, victim.email)

    frozen_clock.shift(dt.timedelta(minutes=10, seconds=1))
    login_slowdown.clear()
    response = api_attempt(anon_api, victim.email, PASSWORD, ATTACKER)

    assert response.status_code == 200
    assert login_slowdown == []


def test_a_window_slides_rather_than_resetting(limits, frozen_clock):
    window = ratelimits.Window(group="test", value="someone", rate="4/10m")
    for _n in range(4):
        window.add()
    frozen_clock.shift(dt.timedelta(minutes=6))
    window.add()
    frozen_clock.shift(dt.timedelta(minutes=6))  # the first four have left, the fifth has not

    assert window.count() == 1
    assert 0 < window.time_left(below=1) <= 4 * 60
