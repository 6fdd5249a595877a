"""Form fields for API input that plain Django forms do not cover."""

from datetime import UTC

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IntegerListField(forms.Field):
    """A JSON list of positive integers (or "1,2,3" from a form)."""

    default_error_messages = {"invalid": _("Give a list of positive whole numbers.")}

    def __init__(self, *, max_items: int = 100, **kwargs):
        kwargs.setdefault("required", False)
        self.max_items = max_items
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in (None, "", []):
            return []
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple) or len(value) > self.max_items:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        result = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int | str):
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            try:
                number = int(item)
            except ValueError:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
            if number <= 0:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            result.append(number)
        return result


class StrictIntegerField(forms.IntegerField):
    """An integer that must be written as one: 12 or "12", never 12.5, "12.0" or true."""

    def to_python(self, value):
        if isinstance(value, (bool, float)):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
            if value.strip() in self.empty_values:
                return None
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


def as_utc(moment):
    """`moment` (aware, or naive in the panel's time zone) in UTC, or a ValidationError when it
    cannot be one: Python accepts offsets up to ±23:59 and years from 1, PostgreSQL only offsets
    up to ±15:59, and year 1 minus an offset is no year at all."""
    if moment is None:
        return None
    try:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_default_timezone())
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise forms.ValidationError(_("This time is out of range."), code="out_of_range") from None


class UtcDateTimeField(forms.DateTimeField):
    """A date and time for filtering stored (UTC) times: any time a person can write, or a 400."""

    def to_python(self, value):
        try:
            return as_utc(super().to_python(value))
        except OverflowError:
            raise forms.ValidationError(_("This time is out of range."), code="out_of_range") from None
