"""The rules an account's fields follow, shared by the pages' forms and the API's serializers."""

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

EMAIL_MAX_LENGTH = 254
PASSWORD_MAX_LENGTH = 128
USERNAME_MIN_LENGTH = 3
USERNAME_MAX_LENGTH = 40
OTP_MAX_LENGTH = 16  # a 6-digit TOTP code or a backup code

validate_username = RegexValidator(r"^[\w.@+-]+\Z", _("Use letters, digits and @ . + - _ only."))
