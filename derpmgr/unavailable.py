"""When the database or Redis (cache, rate limits, broker) is down or too slow: 503, not 500.

A request that fails because a part is unavailable gets HTTP 503 with Retry-After: the API's
envelope with code "unavailable" under /api/, the branded 503 page elsewhere. Three paths lead
here, one for each place such an error can surface:
- a view raises it: UnavailableMiddleware.process_exception;
- a DRF view raises it: derpmgr.api.exception_handler asks `response_for`;
- a middleware or a template raises it: Django calls handler500 (`server_error` below) while the
  exception is being handled.
Each logs one warning (the part, the error's class and first line, credentials removed) and marks
the response as logged, so Django's request logger adds no traceback. Anything else stays a 500.
"""

import logging
import re
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

DATABASE, CACHE, BROKER = "database", "redis", "broker"

# SQLite's OperationalError also covers mistakes ("no such table"); only these mean "not now".
_SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open database",
                       "disk i/o error")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)\S+", re.IGNORECASE)


def _redis_errors() -> tuple:
    import redis

    return redis.exceptions.ConnectionError, redis.exceptions.TimeoutError


def _broker_errors() -> tuple:
    import kombu.exceptions

    return (kombu.exceptions.OperationalError,)


def part_down(exc: BaseException) -> str | None:
    """Which part `exc` says is unavailable (DATABASE, CACHE, BROKER), or None for any other error."""
    if isinstance(exc, InterfaceError):  # the connection is gone
        return DATABASE
    if isinstance(exc, OperationalError):
        driver = exc.__cause__ or exc
        if type(driver).__module__ == "sqlite3":
            message = str(driver).lower()
            return DATABASE if message.startswith(_SQLITE_UNAVAILABLE) else None
        # PostgreSQL: a failed connect, a statement or lock timeout, a dropped connection, a
        # deadlock or serialization failure — all "try again later".
        return DATABASE
    if isinstance(exc, _redis_errors()):
        return CACHE
    if isinstance(exc, _broker_errors()):
        return BROKER
    return None


def describe(exc: BaseException) -> str:
    """The error's class and first line, without credentials: safe for the log."""
    driver = exc.__cause__ or exc
    first_line = (str(driver).strip().splitlines() or [""])[0][:300]
    first_line = _KEYWORD_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", first_line))
    return f"{type(driver).__module__}.{type(driver).__qualname__}: {first_line}"


def message(seconds: int) -> str:
    return _("This service is temporarily unavailable. Please try again in %(seconds)d seconds.") % {
        "seconds": seconds}


def _api_body(seconds: int) -> dict:
    from derpmgr.api import error_body

    return error_body("unavailable", message(seconds), retry_after=seconds)


def _page(request, seconds: int) -> str:
    """The 503 page on the site's base template, with a context that needs no database: no
    session, user or messages are read (the context processors that would are not run)."""
    from derpmgr.error_pages import static_safe_context

    return render_to_string("503.html", {
        **static_safe_context(request), "retry_after": seconds, "message": message(seconds)})


def response_for(request, exc: BaseException):
    """The 503 response for `exc` if it says a part is unavailable, else None."""
    part = part_down(exc)
    if part is None:
        return None
    seconds = settings.UNAVAILABLE_RETRY_AFTER
    logger.warning("%s unavailable, answering %s %s with 503: %s", part, request.method,
                   request.path, describe(exc))
    if request.path_info.startswith("/api/"):
        response = JsonResponse(_api_body(seconds), status=503)
    else:
        response = HttpResponse(_page(request, seconds), status=503)
    response["Retry-After"] = str(seconds)
    response._has_been_logged = True  # the warning above is the log: Django adds no error entry
    return response


class UnavailableMiddleware:
    """Views whose database or Redis failed answer 503 (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return response_for(request, exception)


def server_error(request):
    """handler500: the 503 when the error being handled says a part is unavailable, else the
    usual 500 (the envelope under /api/, the page elsewhere)."""
    from derpmgr.api import server_error as usual

    exc = sys.exc_info()[1]
    return (response_for(request, exc) if exc is not None else None) or usual(request)
