"""Query forms shared by the pages and the API: which alerts, which series; and the
acknowledgement note of the alert page."""

from django import forms
from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import gettext_lazy as _

from derpmgr.fields import StrictIntegerField, UtcDateTimeField

from .models import AlertType, Metric, Severity
from .series import RANGES, RELAY_METRICS

MAX_ID = 2**63 - 1
OPEN, RESOLVED, ALL = "open", "resolved", "all"


class AlertFilterForm(forms.Form):
    """GET /api/monitoring/alerts and /ops/alerts/: open alerts unless asked otherwise."""

    state = forms.ChoiceField(label=_("State"), required=False, choices=[
        (OPEN, _("Open")), (RESOLVED, _("Resolved")), (ALL, _("All"))])
    type = forms.ChoiceField(label=_("Type"), required=False,
                             choices=[("", _("Any")), *AlertType.choices])
    severity = forms.ChoiceField(label=_("Severity"), required=False,
                                 choices=[("", _("Any")), *Severity.choices])
    server_id = StrictIntegerField(label=_("Server id"), required=False, min_value=1,
                                   max_value=MAX_ID)
    since = UtcDateTimeField(label=_("Opened from"), required=False)
    until = UtcDateTimeField(label=_("Opened until"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("'From' must be before 'Until'."), code="since_until")
        return data

    def apply(self, alerts):
        """The filtered alerts, critical first among the open ones, then newest first."""
        data = self.cleaned_data
        state = data.get("state") or OPEN
        if state == OPEN:
            alerts = alerts.filter(resolved_at__isnull=True)
        elif state == RESOLVED:
            alerts = alerts.filter(resolved_at__isnull=False)
        for field in ("type", "severity", "server_id"):
            if data.get(field):
                alerts = alerts.filter(**{field: data[field]})
        if data.get("since"):
            alerts = alerts.filter(opened_at__gte=data["since"])
        if data.get("until"):
            alerts = alerts.filter(opened_at__lte=data["until"])
        return by_urgency(alerts)


def by_urgency(alerts):
    """Open before resolved, critical before warning before info, newest first."""
    rank = Case(When(severity=Severity.CRITICAL, then=Value(0)),
                When(severity=Severity.WARNING, then=Value(1)), default=Value(2),
                output_field=IntegerField())
    return alerts.annotate(open_rank=Case(When(resolved_at__isnull=True, then=Value(0)),
                                          default=Value(1), output_field=IntegerField()),
                           severity_rank=rank).order_by("open_rank", "severity_rank",
                                                        "-opened_at", "-id")


class MetricsQueryForm(forms.Form):
    """GET /api/server/<id>/metrics: one metric over a range, of the server or of one relay."""

    metric = forms.ChoiceField(choices=Metric.choices)
    range = forms.ChoiceField(required=False, choices=[(name, name) for name in RANGES])
    relay_id = StrictIntegerField(required=False, min_value=1, max_value=MAX_ID)

    def clean(self):
        data = super().clean()
        data["range"] = data.get("range") or "24h"
        if data.get("metric") in RELAY_METRICS and not data.get("relay_id"):
            self.add_error("relay_id", _("A relay's figure: give relay_id."))
        if data.get("metric") and data["metric"] not in RELAY_METRICS and data.get("relay_id"):
            self.add_error("relay_id", _("This is a server's figure: leave relay_id out."))
        return data


class ChartRangeForm(forms.Form):
    """?range= of the server page's charts."""

    range = forms.ChoiceField(required=False, choices=[("24h", "24h"), ("7d", "7d")])


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                           max_length=2000,
                           help_text=_("What is being done about it (everyone on duty sees it)."))
