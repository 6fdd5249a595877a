from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from derpmgr.api import error_body

# Where a signed-in user who still owes an MFA step may go.
_OPEN_PREFIXES = (
    "/accounts/login", "/accounts/logout", "/accounts/mfa", "/accounts/password",
    "/accounts/verify", "/i18n/", "/static/", "/api/acl/admit/",
)


class RequireMfaMiddleware:
    """Staff (and distributors, unless relaxed) use the panel only after an OTP check.

    Without a device they are sent to set one up; with one, to enter a code. API calls made
    with a session get a JSON refusal; API tokens are only issued after the OTP check.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(_OPEN_PREFIXES):  # before touching the session: no query
            return self.get_response(request)
        user = request.user
        if user.is_authenticated and user.mfa_required and not user.is_verified():
            if request.path.startswith("/api/"):
                return JsonResponse(error_body(
                    "mfa_required", _("Two-factor authentication is required for your role.")),
                    status=403)
            return redirect(reverse("accounts:mfa"))
        return self.get_response(request)
