"""Redemption as pages and the API offer it: only wrong codes count towards the per-customer and
per-address limits, and both share the counters."""

from django.conf import settings

from derpmgr import ratelimits
from derpmgr.net import client_ip

from . import services


def redeem_counting_wrong_codes(request, raw_code: str):
    user_key = str(request.user.pk)
    ratelimits.check(request, group="redeem-user", rate=settings.RATE_REDEEM_PER_USER, value=user_key)
    ratelimits.check(request, group="redeem-ip", rate=settings.RATE_REDEEM_PER_IP)
    try:
        return services.redeem(user=request.user, raw_code=raw_code, ip=client_ip(request))
    except services.CodeRefused:
        ratelimits.hit(request, group="redeem-user", rate=settings.RATE_REDEEM_PER_USER, value=user_key)
        ratelimits.hit(request, group="redeem-ip", rate=settings.RATE_REDEEM_PER_IP)
        raise
