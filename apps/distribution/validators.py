"""Limits and rules of code batches and revocations, shared by the pages' forms, the admin and
the API's serializers."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CODE_MAX_LENGTH = 64  # a code as typed: 25 characters, dashes and spaces
VALID_DAYS_MAX = 3650
PINNED_SERVERS_MAX = 100
REVOKE_IDS_MAX = 1000


def require_revoke_selection(data: dict) -> None:
    """A revocation names its codes: by id, by code, or both."""
    if not data.get("ids") and not data.get("codes"):
        raise ValidationError(_("Name the codes to revoke: ids or codes."))
