"""Noticing a proxy the settings do not know about.

Behind a reverse proxy every request arrives from the proxy's address; with NUM_PROXIES=0 the
panel takes that address for the client's, so every per-address limit (sign-in, registration,
codes, admission) becomes one limit shared by everybody. The proxy announces itself with
X-Forwarded-For. The first such request a process sees with NUM_PROXIES=0 logs a warning and
leaves a mark in the shared cache; `manage.py check --deploy` reports the mark
(derpmgr.W001) — the check runs where no request is, the mark is what requests saw.
"""

import logging

from django.conf import settings
from django.core import checks
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)

MARK = "derpmgr:xff-without-num-proxies"
MARK_TTL = 7 * 24 * 3600


class ForwardedForWithoutProxies:
    """Middleware: one dictionary lookup per request until the first warning, then nothing."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.warned = False

    def __call__(self, request):
        if (not self.warned and settings.NUM_PROXIES <= 0
                and "HTTP_X_FORWARDED_FOR" in request.META):
            self.warned = True
            logger.warning("X-Forwarded-For arrived but NUM_PROXIES=0: every client looks like "
                           "the proxy at %s, so per-address limits are shared by everyone. Set "
                           "NUM_PROXIES to the number of proxies in front of the panel.",
                           request.META.get("REMOTE_ADDR"))
            try:
                cache.set(MARK, timezone.now().isoformat(), MARK_TTL)
            except Exception:  # the warning is logged; the mark is a courtesy
                logger.debug("could not leave the X-Forwarded-For mark", exc_info=True)
        return self.get_response(request)


@checks.register(checks.Tags.security, deploy=True)
def forwarded_for_seen(app_configs=None, **kwargs):
    if settings.NUM_PROXIES > 0:
        return []
    try:
        seen = cache.get(MARK)
    except Exception:  # no cache reachable here: nothing to report from it
        return []
    if not seen:
        return []
    return [checks.Warning(
        f"Requests with X-Forwarded-For reached the panel (last noticed {seen}) while "
        "NUM_PROXIES=0: behind a proxy every client shares the proxy's address and its limits.",
        hint="Set NUM_PROXIES to the number of reverse proxies in front of the panel "
             "(docker-compose.yml: 1).",
        id="derpmgr.W001")]
