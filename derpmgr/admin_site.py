from django.contrib.auth import REDIRECT_FIELD_NAME
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite


class DerpAdminSite(OTPAdminSite):
    """The admin for staff whose session passed an OTP check.

    Sign-in happens on the panel's own login page (password, then the OTP step, or MFA
    enrolment for a staff member who has no device yet); the admin only checks the result.
    """

    site_header = _("derpmgr administration")
    site_title = _("derpmgr")
    index_title = _("Operations and settings")

    def __init__(self, name="admin"):
        super().__init__(name)

    def login(self, request, extra_context=None):
        target = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
        return redirect(f"{reverse('accounts:login')}?{urlencode({REDIRECT_FIELD_NAME: target})}")
