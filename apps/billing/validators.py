"""Rules a purchase follows, shared by the page's form and the API's serializer."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

COUPON_MAX_LENGTH = 32
REFERENCE_MAX_LENGTH = 128


def require_plan_choice(data: dict) -> None:
    """A purchase names its plan: by id ("plan") or by how long it lasts ("duration_days")."""
    if not data.get("plan") and not data.get("duration_days"):
        raise ValidationError(_("Choose a plan."))
