"""What the account API accepts: the same rules as the pages' forms (validators.py)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from derpmgr.api_fields import StrictCharField, StrictEmailField

from . import validators as rules


def _password():
    return StrictCharField(max_length=rules.PASSWORD_MAX_LENGTH, trim_whitespace=False,
                           style={"input_type": "password"})


class EmailSerializer(serializers.Serializer):
    email = StrictEmailField(max_length=rules.EMAIL_MAX_LENGTH)


class RegistrationSerializer(EmailSerializer):
    username = StrictCharField(min_length=rules.USERNAME_MIN_LENGTH,
                               max_length=rules.USERNAME_MAX_LENGTH,
                               validators=[rules.validate_username])
    password = _password()


class LoginSerializer(EmailSerializer):
    password = _password()
    otp = StrictCharField(required=False, allow_blank=True, default="",
                          max_length=rules.OTP_MAX_LENGTH,
                          help_text=_("The code from the authenticator app, for accounts with "
                                      "two-factor authentication."))


class VerifyEmailSerializer(serializers.Serializer):
    token = StrictCharField(max_length=512, help_text=_("The token from the verification link."))
