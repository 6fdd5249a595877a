"""The 403, 404 and 500 pages (and the CSRF refusal): on the site's shell, in the visitor's language,
saying who is signed in; the 403 names the permission or role the page needs when the refusal
knows it (apps/accounts/policy.require_page). Under /api/ the same errors stay JSON envelopes.

The 500 page must render when nothing else works: it reads no session, database or cache, and
shows the signed-in user only if the request had already loaded them (`known_user`).
"""

from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject, empty
from django.utils.translation import gettext as _

from apps.accounts import refusals
from apps.accounts.policy import NOT_GRANTED


def is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def _json(code: str, message, status: int) -> JsonResponse:
    from derpmgr.api import error_body

    return JsonResponse(error_body(code, message), status=status)


def known_user(request):
    """The signed-in user if this request has already loaded them, else an anonymous one: never
    a session or database read (the 500 page may be rendering because those failed)."""
    user = getattr(request, "user", None)
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    return user if user is not None else AnonymousUser()


def static_safe_context(request) -> dict:
    """What base.html needs, from the request alone (the context processors are not run)."""
    return {"request": request, "user": known_user(request), "csrf_token": get_token(request)}


def page_not_found(request, exception=None):
    """handler404."""
    if is_api(request):
        return _json("not_found", _("Not found."), 404)
    return render(request, "404.html", status=404)


def permission_denied(request, exception=None):
    """handler403: the refusal's message and, when it carries one, what the page needs."""
    message = str(exception) if exception is not None and str(exception) else str(NOT_GRANTED)
    if is_api(request):
        return _json("forbidden", message, 403)
    context = {"message": message, "needed": refusals.needed(getattr(exception, "needed", ""))}
    return render(request, "403.html", context, status=403)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: Django's reason is for developers; the visitor is told what to do."""
    message = _("The form could not be sent: the page was open too long or cookies are blocked. "
                "Reload the page and try again.")
    if is_api(request):
        return _json("forbidden", message, 403)
    return render(request, "403.html", {"message": message}, status=403)


def server_error_page(request) -> HttpResponse:
    """The 500 page (derpmgr.api.server_error sends browsers here): no stack trace, no database."""
    return HttpResponse(render_to_string("500.html", static_safe_context(request)), status=500)
