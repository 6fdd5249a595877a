"""Sign-in limits that nobody can use to lock an account's owner out.

Hard limits (429) only where the attacker's own address is part of the key:
- every attempt from one address (RATE_LOGIN_PER_IP), whatever the account;
- wrong passwords for one account from one address (RATE_LOGIN_PER_ACCOUNT_IP).

Account-wide, wrong passwords from anywhere do not block: past LOGIN_SLOWDOWN_AFTER failures in
its window, every attempt on the account (the right password too) waits a little before the
password is checked, doubling with each further failure up to LOGIN_SLOWDOWN_MAX_SECONDS. Guessing
across many addresses gets slow; the owner, from another address, still signs in, a few seconds
later at worst. Windows slide (derpmgr/ratelimits.py), on Redis as on the database cache.
"""

import contextlib
import time

from django.conf import settings

from derpmgr import ratelimits
from derpmgr.errors import RateLimited, ServiceError
from derpmgr.net import client_ip

FIRST_DELAY = 0.25  # seconds, at the first failure past the free ones

# What waits; tests replace it to see the delay without spending it.
sleeper = time.sleep


def _account(email: str) -> ratelimits.Window:
    return ratelimits.Window(group="login-account", value=email,
                             rate=settings.LOGIN_SLOWDOWN_AFTER)


def _pair(request, email: str) -> ratelimits.Window:
    return ratelimits.Window(group="login-pair", value=f"{email.strip().lower()}|{client_ip(request)}",
                             rate=settings.RATE_LOGIN_PER_ACCOUNT_IP)


def delay_for(failures: int) -> float:
    """Seconds an attempt on an account waits after `failures` recent wrong passwords."""
    free, _period = ratelimits.parse_rate(settings.LOGIN_SLOWDOWN_AFTER)
    if failures < free:
        return 0.0
    return min(float(settings.LOGIN_SLOWDOWN_MAX_SECONDS), FIRST_DELAY * 2 ** (failures - free))


def before_attempt(request, email: str) -> float:
    """Apply the limits before a password is checked: raise RateLimited for this address, or wait
    the account's slow-down. Returns the seconds waited."""
    ratelimits.hit(request, group="login-ip", rate=settings.RATE_LOGIN_PER_IP)
    pair = _pair(request, email)
    if pair.count() >= pair.limit:
        raise RateLimited(pair.time_left())
    delay = delay_for(_account(email).count())
    if delay:
        sleeper(delay)
    return delay


def after_failure(request, email: str) -> None:
    """A refused password: counted for this address and account pair, and account-wide."""
    _pair(request, email).add()
    _account(email).add()


@contextlib.contextmanager
def failures_counted(request, email: str):
    """Around the password check: a refusal inside counts as a failure (then goes on up)."""
    try:
        yield
    except RateLimited:
        raise
    except ServiceError:
        after_failure(request, email)
        raise
