"""Rate limits on top of django-ratelimit, raising RateLimited with the time left."""

from django_ratelimit.core import get_usage

from derpmgr.errors import RateLimited


def hit(request, *, group: str, rate: str, key: str = "ip", value: str | None = None) -> None:
    """Count one attempt; raise RateLimited once `rate` is exceeded in the current window.

    `key="ip"` counts per client address; with `value`, counts per that value (an account's
    e-mail, say), so one attacker cannot spread guesses over many addresses.
    """
    if value is not None:
        normalised = value.strip().lower()

        def key(_group, _request):
            return normalised

    usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
    if usage is not None and usage["should_limit"]:
        raise RateLimited(usage["time_left"])


def check(request, *, group: str, rate: str, key: str = "ip", value: str | None = None) -> None:
    """Like hit() but without counting: refuse if the limit is already reached. Used where only
    failures count (wrong codes): check() before the attempt, hit() after a failure."""
    if value is not None:
        normalised = value.strip().lower()

        def key(_group, _request):
            return normalised

    usage = get_usage(request, group=group, key=key, rate=rate, increment=False)
    if usage is not None and usage["count"] >= usage["limit"]:
        raise RateLimited(usage["time_left"])
