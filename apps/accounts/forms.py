from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.notifications import services as notifications

from . import validators as rules
from .models import User


class RegistrationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=rules.EMAIL_MAX_LENGTH)
    username = forms.CharField(label=_("Username"), min_length=rules.USERNAME_MIN_LENGTH,
                               max_length=rules.USERNAME_MAX_LENGTH,
                               validators=[rules.validate_username])
    password = forms.CharField(label=_("Password"), strip=False,
                               max_length=rules.PASSWORD_MAX_LENGTH,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class LoginForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=rules.EMAIL_MAX_LENGTH)
    password = forms.CharField(label=_("Password"), strip=False,
                               max_length=rules.PASSWORD_MAX_LENGTH,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class OtpForm(forms.Form):
    token = forms.CharField(label=_("Code"), max_length=rules.OTP_MAX_LENGTH,
                            help_text=_("The 6-digit code from your authenticator app, or one of "
                                        "your backup codes."),
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                          "inputmode": "numeric"}))


class EmailForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=rules.EMAIL_MAX_LENGTH)


class DisableMfaForm(OtpForm):
    password = forms.CharField(label=_("Password"), strip=False, max_length=128,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    field_order = ["password", "token"]


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["language"]


class OutboxPasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, but the mail goes through the outbox like every other."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email,
                  to_email, html_email_template_name=None):
        # The link is built on PANEL_URL, never on the request's Host header.
        path = reverse("accounts:password_reset_confirm",
                       kwargs={"uidb64": context["uid"], "token": context["token"]})
        notifications.send_to_user(user=context["user"], template="password-reset",
                                   context={"link": settings.PANEL_URL + path})

    def get_users(self, email):
        return User.objects.filter(email__iexact=email, is_active=True)
