"""Checks the rental's surfaces (API, pages, admin) make before calling a verb, for inputs the
verbs in services.py do not refuse cleanly yet. Each says what it guards against; once the verb
refuses the input itself, the check can go."""

import datetime

from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from apps.accounts.models import User
from derpmgr.errors import Conflict, ServiceError

from . import services
from .services import MAX_RENEWAL_DAYS


def refuse_far_dates(value) -> None:
    """Refuse an end date more than ten years away before services.parse_end sees it: it adds a
    day to a date, which overflows on 9999-12-31 (a 500 instead of its own refusal)."""
    try:
        day = value if isinstance(value, datetime.date) else parse_date(str(value or "").strip())
    except ValueError:
        return  # not a date: the verb says so
    if isinstance(day, datetime.datetime):
        return
    if day and day > timezone.localdate() + datetime.timedelta(days=MAX_RENEWAL_DAYS):
        message = _("The end date is more than ten years away.")
        raise ServiceError(message, code="date_too_far", fields={"until": [message]})


def resume(*, user: User, actor, ip: str | None = None):
    """services.resume, refused for a deleted account: the verb would make a deleted account's
    rental "active" again if it was suspended by hand when it was deleted."""
    if User.objects.filter(pk=user.pk, deleted_at__isnull=False).exists():
        raise Conflict(_("This account has been deleted."), code="account_deleted")
    return services.resume(user=user, actor=actor, ip=ip)
