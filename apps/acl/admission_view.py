"""POST /api/acl/admit/<token>: derper's --verify-client-url protocol, exactly.

derper posts {"NodePublic": "nodekey:<hex>", "Source": "<ip>"} without a Content-Type and needs
200 {"Allow": true} to admit; anything else rejects. No session, cookies or CSRF here: the token
in the URL is the authentication. Bad input is a refusal, never an error page. Without an answer
(the database unavailable on a cache miss) the refusal is a 503 {"Allow": false}: derper rejects
whatever is not 200 {"Allow": true}, and the status tells operators why.
"""

import json
import logging
import re

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from derpmgr import unavailable
from derpmgr.converters import UrlSafeToken
from derpmgr.net import client_ip

from . import admission
from .counters import admission_counters
from .models import NODE_KEY

logger = logging.getLogger(__name__)

MAX_BODY = 4096
# Only what the panel issues (secrets.token_urlsafe) is looked up: a NUL byte or any other junk is
# refused before the cache or the database sees it.
TOKEN = re.compile(UrlSafeToken.regex)
PREFIX = "/api/acl/admit/"
_ALLOW = b'{"Allow":true}'
_DENY = b'{"Allow":false}'


def _answer(allowed: bool, status: int = 200) -> HttpResponse:
    return HttpResponse(_ALLOW if allowed else _DENY, content_type="application/json", status=status)


def _request(request) -> tuple[str, str] | None:
    """(node key, source) from derper's body, or None for anything else."""
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY:
            return None
        raw = request.read(MAX_BODY + 1)  # at most 4 KiB, whatever the header claimed
        if len(raw) > MAX_BODY:
            return None
        body = json.loads(raw.decode())
    except (ValueError, RecursionError):  # not a number, not UTF-8, not JSON, nested too deep
        return None
    if not isinstance(body, dict):
        return None
    node_key, source = body.get("NodePublic"), body.get("Source")
    if not isinstance(node_key, str) or not NODE_KEY.fullmatch(node_key) or not isinstance(source, str):
        return None
    return node_key, source[:64]


@csrf_exempt
def admit(request, token: str):
    if request.method != "POST":
        response = _answer(False, status=405)
        response["Allow"] = "POST"
        return response
    asked = _request(request) if TOKEN.fullmatch(token) else None
    if asked is None:
        admission_counters.note(False)
        return _answer(False)
    try:
        allowed = admission.decide(token, *asked, peer=client_ip(request))
    except Exception as exc:  # no answer without the database: refuse (derper fails closed)
        if unavailable.part_down(exc) is None:
            logger.exception("admission decision failed")
        else:
            logger.warning("admission refused, the database is unavailable: %s", unavailable.describe(exc))
        admission_counters.note(False)
        return _answer(False, status=503)
    admission_counters.note(allowed)
    return _answer(allowed)


class AdmissionFastPath:
    """First in MIDDLEWARE: answers the admission URL before the rest of the stack (sessions,
    locale, CSRF, authentication, MFA, messages — nothing this endpoint uses) and before URL
    resolution. Every other request passes through untouched; the route in derpmgr/urls.py
    stays for reverse() and for a stack without this middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith(PREFIX):
            token = path[len(PREFIX):]
            if token and "/" not in token:  # what the route's <str:token> matches
                return admit(request, token)
        return self.get_response(request)


@csrf_exempt
def trivial(request):
    """A JSON view with no work at all (GET or POST): the admission benchmark's baseline."""
    return HttpResponse(_DENY, content_type="application/json")
