from functools import update_wrapper

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite


class DerpAdminSite(OTPAdminSite):
    """The admin for staff whose session passed an OTP check.

    Sign-in happens on the panel's own login page (password, then the OTP step, or MFA
    enrolment for a staff member who has no device yet); the admin only checks the result.
    Anyone else signed in is told there is nothing here (404), as everywhere in the panel;
    sending them to the login page would bounce them straight back, forever.
    """

    site_header = _("derpmgr administration")
    site_title = _("derpmgr")
    index_title = _("Operations and settings")

    def __init__(self, name="admin"):
        super().__init__(name)

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every ModelAdmin, ours and the libraries', writes its changes to the audit log,
        answers bad list parameters with 400 (admin_mixins) and lists at a cost that does not
        grow with the table (admin_lists)."""
        from django.contrib.admin import ModelAdmin

        from .admin_lists import BoundedChangeListMixin
        from .admin_mixins import AuditedChangesMixin, SafeChangeListMixin

        admin_class = admin_class or ModelAdmin
        if not issubclass(admin_class, AuditedChangesMixin):
            admin_class = type(admin_class.__name__, (SafeChangeListMixin, AuditedChangesMixin,
                                                      BoundedChangeListMixin, admin_class),
                               {"__module__": admin_class.__module__,
                                "__doc__": admin_class.__doc__})
        super().register(model_or_iterable, admin_class, **options)

    def _refusal(self, request):
        """None when the request may enter the admin; otherwise the answer to give instead."""
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        from apps.accounts import policy

        if not policy.can(user, policy.STAFF):
            raise Http404
        if not user.is_verified():
            return redirect("accounts:mfa")
        return None

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def guarded(request, *args, **kwargs):
            return self._refusal(request) or inner(request, *args, **kwargs)

        return update_wrapper(guarded, inner)

    def login(self, request, extra_context=None):
        refusal = self._refusal(request) if request.user.is_authenticated else None
        if refusal is not None:
            return refusal
        # The panel's login page checks that the target is ours before going there.
        target = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
        return redirect(f"{reverse('accounts:login')}?{urlencode({REDIRECT_FIELD_NAME: target})}")
