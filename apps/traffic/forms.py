"""What the traffic APIs and pages accept: a time range and a resolution."""

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from derpmgr.fields import as_utc

from .models import Resolution

MAX_SPAN = timedelta(days=366)
MAX_MINUTE_SPAN = timedelta(days=3)
DEFAULT_SPAN = timedelta(hours=24)


def _parse(value: str):
    """The time in `value`, or None. A "+" in a query string arrives as a space
    (2026-05-01T08:00:00 08:00)."""
    if len(value) > 64:
        return None
    if value.count(" ") == 1 and "T" in value:
        value = value.replace(" ", "+")
    try:
        return parse_datetime(value)
    except ValueError:  # well-formed but impossible, e.g. month 13
        return None


class IsoDateTimeField(forms.Field):
    """An ISO 8601 time; without a zone it is the panel's time zone."""

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return None
        moment = _parse(value)
        if moment is None:
            raise forms.ValidationError(_("Give an ISO 8601 time, e.g. 2026-05-01T00:00:00Z."),
                                        code="invalid")
        return as_utc(moment)


class TrafficRangeForm(forms.Form):
    """?from=&to=&resolution= — by default the last 24 hours, hourly."""

    RESOLUTIONS = (Resolution.MINUTE, Resolution.HOUR, Resolution.DAY)

    from_ = IsoDateTimeField(required=False)
    to = IsoDateTimeField(required=False)
    resolution = forms.CharField(required=False, max_length=16)

    def __init__(self, data=None, *, resolutions=RESOLUTIONS, now=None, **kwargs):
        data = data.copy() if data is not None else {}
        if "from" in data:
            data["from_"] = data.get("from")
        super().__init__(data, **kwargs)
        self.resolutions = [str(r) for r in resolutions]
        self.now = now or timezone.now()

    def clean_resolution(self):
        value = self.cleaned_data["resolution"] or Resolution.HOUR
        if value not in self.resolutions:
            raise forms.ValidationError(
                _("resolution must be one of: %(choices)s.") % {"choices": ", ".join(self.resolutions)},
                code="invalid")
        return value

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        end = data.get("to") or self.now
        start = data.get("from_") or end - DEFAULT_SPAN
        if start >= end:
            raise forms.ValidationError({"from_": _("from must be before to.")})
        if end - start > MAX_SPAN:
            raise forms.ValidationError({"from_": _("The range may be a year at most.")})
        if data["resolution"] == Resolution.MINUTE and end - start > MAX_MINUTE_SPAN:
            raise forms.ValidationError(
                {"resolution": _("Minute resolution covers three days at most.")})
        data.update(start=start, end=end)
        return data

    def field_errors(self) -> dict:
        """Errors keyed by the names callers use (from, to, resolution)."""
        return {("from" if name == "from_" else name): [str(e) for e in errors]
                for name, errors in self.errors.items()}
