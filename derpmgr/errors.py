"""The one error type services raise for a refusal the caller should show, not crash on."""

import math

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext


class ServiceError(Exception):
    """A business rule said no. Carries a machine code, a translatable message and a status."""

    status = 400
    code = "invalid"

    def __init__(self, message, *, code: str | None = None, status: int | None = None,
                 fields: dict | None = None):
        super().__init__(str(message))
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields or {}


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"

    def __init__(self, message, *, needed: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.needed = needed  # the permission or role gate refused (policy.require), if known


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class RateLimited(ServiceError):
    """Too many attempts; retry_after says when the caller may try again."""

    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int, message=None):
        self.retry_after = max(1, int(retry_after))
        super().__init__(message or try_again_message(self.retry_after))


def try_again_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many attempts. Please try again in %(n)d minute.",
        "Too many attempts. Please try again in %(n)d minutes.",
        minutes,
    ) % {"n": minutes}


UNEXPECTED = _("Something went wrong on our side. The operators have been told.")


def show_on_form(form, error: ServiceError, *, general=None) -> None:
    """A service's refusal on a Django form: on the fields it names, else on the whole form
    (`general`, when given, says it there instead of the bare message)."""
    placed = False
    for name, messages in error.fields.items():
        if name in form.fields:
            for message in messages:
                form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, general if general is not None else str(error.message))
