"""The seed's account API: register, verify, login (token), logout, me."""

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.views import APIView

from derpmgr import ratelimits
from derpmgr.api import envelope, ok, validated
from derpmgr.errors import ServiceError
from derpmgr.net import client_ip

from . import login_limits, services
from .models import User
from .serializers import EmailSerializer, LoginSerializer, RegistrationSerializer, VerifyEmailSerializer


def _message(name: str):
    return envelope(name, message=serializers.CharField())


def _user(name: str, **more):
    return envelope(name, user=UserSerializer(), **more)


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "username", "role", "email_verified", "language",
                  "rental_state", "rental_expiry", "created_at"]
        read_only_fields = fields


REGISTERED = gettext_lazy("Check your e-mail: we sent a message to the address you gave. Follow "
                          "its link to verify the address and activate the account.")


class RegisterView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=RegistrationSerializer, responses={202: envelope(
        "Registration", user_id=serializers.IntegerField(
            allow_null=True, help_text=gettext_lazy("Always null: the account's id is shown once "
                                                    "the e-mailed link is followed.")),
        message=serializers.CharField())})
    def post(self, request):
        data = validated(RegistrationSerializer, request)
        ratelimits.hit(request, group="register", rate=settings.RATE_REGISTER_PER_IP)
        services.register(**data, language=request.LANGUAGE_CODE, ip=client_ip(request))
        # The same answer whether the address or username was free or taken (README, API): the
        # account's id is known once the e-mailed link is followed (GET /api/user/me).
        return ok({"user_id": None, "message": REGISTERED}, status_code=202)


class VerifyEmailView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=VerifyEmailSerializer, responses={200: _user("EmailVerified")})
    def post(self, request):
        token = validated(VerifyEmailSerializer, request)["token"]
        user = services.verify_email(token=token, ip=client_ip(request))
        return ok({"user": UserSerializer(user).data})


class ResendVerificationView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=EmailSerializer, responses={200: _message("VerificationResent")})
    def post(self, request):
        email = validated(EmailSerializer, request)["email"]
        ratelimits.hit(request, group="resend", rate=settings.RATE_RESEND_PER_ACCOUNT, value=email)
        services.resend_verification(email=email, ip=client_ip(request))
        return ok({"message": _("If that address has an unverified account, a new link is on "
                                "its way.")})


class LoginView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=LoginSerializer, responses={200: _user(
        "SignedIn", token=serializers.CharField(help_text=gettext_lazy(
            "Send it as Authorization: Bearer <token>.")))})
    def post(self, request):
        data = validated(LoginSerializer, request)
        ip = client_ip(request)
        login_limits.before_attempt(request, data["email"])
        with login_limits.failures_counted(request, data["email"]):
            user = services.authenticate_for_login(request, email=data["email"],
                                                   password=data["password"], ip=ip)
        if services.has_mfa(user):
            if not data["otp"]:
                raise services.LoginRefused(_("Enter the code from your authenticator app."),
                                            code="otp_required")
            ratelimits.hit(request, group="otp", rate=settings.RATE_LOGIN_PER_ACCOUNT,
                           value=str(user.pk))
            if services.verify_otp(user, data["otp"]) is None:
                services.record_login_failure(email=user.email, ip=ip, reason="otp_invalid")
                raise services.LoginRefused(_("That code is not right."), code="otp_invalid")
        elif user.mfa_required:
            raise ServiceError(_("Your role requires two-factor authentication. Set it up on the "
                                 "web first (Profile → Two-factor authentication)."),
                               code="mfa_setup_required", status=403)
        token = services.issue_api_token(user=user, ip=ip)
        return ok({"token": token, "user": UserSerializer(user).data})


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: _message("SignedOut")})
    def post(self, request):
        token = getattr(request, "api_token", None)
        if token is None:
            raise ServiceError(_("Log out with the token you want revoked (Authorization: "
                                 "Bearer …)."), code="no_token")
        services.revoke_api_token(token=token, ip=client_ip(request))
        return ok({"message": _("Token revoked.")})


class MeView(APIView):
    @extend_schema(responses={200: _user("Me")})
    def get(self, request):
        return ok({"user": UserSerializer(request.user).data})
