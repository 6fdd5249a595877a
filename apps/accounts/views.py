"""Sign-up, sign-in, MFA and profile pages. Each view parses, calls a service, renders."""

import time
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from derpmgr import ratelimits
from derpmgr.errors import RateLimited, ServiceError
from derpmgr.net import client_ip

from . import login_limits, policy, services
from .forms import (
    DisableMfaForm,
    EmailForm,
    LoginForm,
    OtpForm,
    OutboxPasswordResetForm,
    ProfileForm,
    RegistrationForm,
)
from .models import User

PENDING_USER = "mfa_pending_user"
PENDING_AT = "mfa_pending_at"
PENDING_NEXT = "mfa_pending_next"
PENDING_MAX_AGE = 300  # seconds between the password step and the code step
BACKUP_CODES = "mfa_fresh_backup_codes"


def _safe_next(request, fallback: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse(fallback)


def _posted(request):
    """The submitted data, or None on GET: an empty POST is still a submission to validate."""
    return request.POST if request.method == "POST" else None


def _refuse(request, template: str, context: dict, error: ServiceError):
    """Show a refusal on the page it belongs to, with the status an API would use."""
    form = context.get("form")
    if form is not None and error.fields:
        for field, field_messages in error.fields.items():
            for message in field_messages:
                form.add_error(field if field in form.fields else None, message)
    else:
        messages.error(request, error.message)
    return render(request, template, context, status=error.status)


def home(request):
    if not request.user.is_authenticated:
        return landing(request)
    if policy.can(request.user, policy.STAFF):
        return redirect("ops-dashboard")
    if policy.can(request.user, policy.DISTRIBUTOR):
        return redirect("portal:dashboard")
    return redirect("accounts:dashboard")


def landing(request):
    """What a visitor sees first: what is rented, the plans on sale and their prices, how to start."""
    from apps.billing.models import Plan

    plans = Plan.objects.visible_to(request.user).order_by("duration_days", "price_fen", "pk")
    return render(request, "landing.html", {"plans": plans})


# --- Registration ----------------------------------------------------------------------------

def register(request):
    form = RegistrationForm(_posted(request))
    context = {"form": form}
    if request.method == "POST" and form.is_valid():
        try:
            ratelimits.hit(request, group="register", rate=settings.RATE_REGISTER_PER_IP)
            registration = services.register(**form.cleaned_data, language=request.LANGUAGE_CODE,
                                             ip=client_ip(request))
        except ServiceError as error:
            return _refuse(request, "accounts/register.html", context, error)
        # The same page whether the address or username was free or taken.
        return render(request, "accounts/register_done.html", {"email": registration.email})
    return render(request, "accounts/register.html", context, status=400 if form.errors else 200)


def verify(request, token):
    try:
        services.verify_email(token=token, ip=client_ip(request))
    except ServiceError as error:
        return render(request, "accounts/verify_failed.html", {"error": error.message},
                      status=error.status)
    messages.success(request, _("Your e-mail address is verified. You can sign in now."))
    return redirect("accounts:login")


def resend_verification(request):
    form = EmailForm(_posted(request), initial={"email": request.GET.get("email", "")})
    context = {"form": form}
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        try:
            ratelimits.hit(request, group="resend", rate=settings.RATE_RESEND_PER_ACCOUNT, value=email)
            services.resend_verification(email=email, ip=client_ip(request))
        except ServiceError as error:
            return _refuse(request, "accounts/resend.html", context, error)
        messages.success(request, _("If that address has an unverified account, a new link is on "
                                    "its way."))
        return redirect("accounts:login")
    return render(request, "accounts/resend.html", context, status=400 if form.errors else 200)


# --- Sign-in ---------------------------------------------------------------------------------

def login(request):
    if request.user.is_authenticated and request.method == "GET":
        if not request.GET.get("next"):
            return redirect("home")
        # Signed in, yet sent here from a page (the admin, say) this account may not open:
        # sending them back would bounce them straight here again, in a loop.
        messages.warning(request, _("You are signed in as %(email)s, which cannot open the page "
                                    "you asked for. Sign in with another account to continue.")
                         % {"email": request.user.email})
    form = LoginForm(_posted(request))
    context = {"form": form, "next": request.GET.get("next", "")}
    if request.method != "POST" or not form.is_valid():
        return render(request, "accounts/login.html", context, status=400 if form.errors else 200)
    email, password = form.cleaned_data["email"], form.cleaned_data["password"]
    ip = client_ip(request)
    try:
        login_limits.before_attempt(request, email)
        with login_limits.failures_counted(request, email):
            user = services.authenticate_for_login(request, email=email, password=password, ip=ip)
    except ServiceError as error:
        return _refuse(request, "accounts/login.html", context, error)
    if services.has_mfa(user):
        request.session[PENDING_USER] = user.pk
        request.session[PENDING_AT] = int(time.time())
        request.session[PENDING_NEXT] = _safe_next(request)
        return redirect("accounts:mfa_verify")
    auth_login(request, user)
    services.record_login(user=user, ip=ip, method="password")
    if user.mfa_required:
        messages.info(request, _("Your role requires two-factor authentication. Set it up now."))
        return redirect("accounts:mfa")
    return redirect(_safe_next(request))


def _pending_user(request) -> User | None:
    user_id, started = request.session.get(PENDING_USER), request.session.get(PENDING_AT, 0)
    if not user_id or time.time() - started > PENDING_MAX_AGE:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def mfa_verify(request):
    """The code step: after the password, or for a signed-in user whose session is unverified."""
    user = request.user if request.user.is_authenticated else _pending_user(request)
    if user is None:
        messages.info(request, _("Please sign in again."))
        return redirect("accounts:login")
    if not services.has_mfa(user):
        return redirect("accounts:mfa")
    form = OtpForm(_posted(request))
    context = {"form": form}
    if request.method != "POST" or not form.is_valid():
        return render(request, "accounts/mfa_verify.html", context, status=400 if form.errors else 200)
    ip = client_ip(request)
    try:
        ratelimits.hit(request, group="otp", rate=settings.RATE_LOGIN_PER_ACCOUNT, value=str(user.pk))
        device = services.verify_otp(user, form.cleaned_data["token"])
        if device is None:
            services.record_login_failure(email=user.email, ip=ip, reason="otp_invalid")
            raise services.LoginRefused(_("That code is not right."), code="otp_invalid")
    except ServiceError as error:
        return _refuse(request, "accounts/mfa_verify.html", {"form": OtpForm()}, error)
    target = request.session.get(PENDING_NEXT) or reverse("home")
    for key in (PENDING_USER, PENDING_AT, PENDING_NEXT):
        request.session.pop(key, None)  # the password step is spent
    if not request.user.is_authenticated:
        auth_login(request, user)
    otp_login(request, device)
    services.record_login(user=user, ip=ip, method="password+otp")
    return redirect(target)


@require_POST
def logout(request):
    if request.user.is_authenticated:
        services.record_logout(user=request.user, ip=client_ip(request), method="session")
    auth_logout(request)
    messages.info(request, _("You are signed out."))
    return redirect("accounts:login")


# --- MFA management --------------------------------------------------------------------------

def code_step_passed(view):
    """Once an account has MFA, managing it (backup codes above all) needs a session that
    passed the code step: a session opened before the device existed must verify first."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if services.has_mfa(request.user) and not request.user.is_verified():
            return redirect("accounts:mfa_verify")
        return view(request, *args, **kwargs)

    return wrapped


@login_required
@code_step_passed
def mfa(request):
    user = request.user
    context = {"enrolled": services.has_mfa(user), "backup_codes": request.session.pop(BACKUP_CODES, None),
               "disable_form": DisableMfaForm(), "confirm_form": OtpForm()}
    device = services.pending_totp_device(user)
    if device is not None:
        context.update(qr_svg=services.totp_qr_svg(device),
                       secret=services.totp_secret_base32(device))
    return render(request, "accounts/mfa.html", context)


@login_required
@require_POST
@code_step_passed
def mfa_start(request):
    services.start_totp_enrolment(user=request.user)
    return redirect("accounts:mfa")


@login_required
@require_POST
@code_step_passed
def mfa_confirm(request):
    form = OtpForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the 6-digit code from your app."))
        return redirect("accounts:mfa")
    try:
        device, codes = services.confirm_totp_enrolment(
            user=request.user, token=form.cleaned_data["token"], ip=client_ip(request))
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("accounts:mfa")
    otp_login(request, device)
    request.session[BACKUP_CODES] = codes
    messages.success(request, _("Two-factor authentication is on. Keep your backup codes safe."))
    return redirect("accounts:mfa")


@login_required
@require_POST
@code_step_passed
def mfa_backup_codes(request):
    try:
        request.session[BACKUP_CODES] = services.regenerate_backup_codes(
            user=request.user, ip=client_ip(request))
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("accounts:mfa")


@login_required
@require_POST
@code_step_passed
def mfa_disable(request):
    form = DisableMfaForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter your password and a current code."))
        return redirect("accounts:mfa")
    try:
        services.disable_mfa(user=request.user, password=form.cleaned_data["password"],
                             token=form.cleaned_data["token"], ip=client_ip(request))
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("accounts:mfa")
    messages.success(request, _("Two-factor authentication is off."))
    return redirect("accounts:mfa")


# --- Profile and dashboard -------------------------------------------------------------------

@login_required
def profile(request):
    form = ProfileForm(_posted(request), instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved."))
        response = redirect("accounts:profile")
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, request.user.language)
        return response
    return render(request, "accounts/profile.html",
                  {"form": form, "mfa_enrolled": services.has_mfa(request.user)},
                  status=400 if form.errors else 200)


@login_required
def dashboard(request):
    """The signed-in user's home: for a customer, the rental as it stands (days left, relays,
    devices, derpMap) and what happens next."""
    context = {}
    if policy.can(request.user, policy.CUSTOMER):
        from apps.rentals import home, status  # the rentals layer sits above this one
        from apps.rentals import services as rentals

        rental = status.rental_status(request.user)
        # Times in the panel's time zone (Asia/Shanghai unless TIME_ZONE says otherwise), named.
        context = {"rental": rental, "time_zone": timezone.get_default_timezone_name(),
                   "home": home.customer_home(request.user)}
        if rental.suspended:
            context["suspension_message"] = rentals.suspension_message(request.user)
        if rental.short_of_relays:
            context["check_minutes"] = status.shortfall_check_minutes()
    return render(request, "accounts/dashboard.html", context)


# --- Password reset (Django's views, our templates, the outbox, a rate limit) ---------------

class InvalidFormIs400:
    """A form sent back with errors answers 400, as every other page of the panel does."""

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordResetView(InvalidFormIs400, auth_views.PasswordResetView):
    form_class = OutboxPasswordResetForm
    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        try:
            ratelimits.hit(self.request, group="reset-ip", rate=settings.RATE_PASSWORD_RESET_PER_IP)
            ratelimits.hit(self.request, group="reset-account",
                           rate=settings.RATE_PASSWORD_RESET_PER_ACCOUNT,
                           value=form.cleaned_data["email"])
        except RateLimited as error:
            form.add_error(None, error.message)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


class PasswordResetConfirmView(InvalidFormIs400, auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:login")
    post_reset_login = False

    def form_valid(self, form):
        with transaction.atomic():  # the new password, the old tokens' end and the audit row
            response = super().form_valid(form)
            services.record_password_reset(user=form.user, ip=client_ip(self.request))
        messages.success(self.request, gettext_lazy("Your password is changed. Sign in with it."))
        return response


class InvitationView(PasswordResetConfirmView):
    """The link of an invitation: the invited person chooses their password, which also
    verifies their address (the link reached it); then they sign in."""

    template_name = "accounts/invitation.html"
    token_generator = services.InvitationTokens()

    def form_valid(self, form):
        services.accept_invitation(user=form.user, password=form.cleaned_data["new_password1"],
                                   ip=client_ip(self.request))
        self.request.session.pop(auth_views.INTERNAL_RESET_SESSION_TOKEN, None)
        messages.success(self.request, gettext_lazy("Your password is set and your e-mail address "
                                                    "verified. Sign in with it."))
        return redirect(self.success_url)
