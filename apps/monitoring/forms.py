"""Monitoring input in the Django admin: acknowledging an alert, a channel, the thresholds. The
checks are config.py's (the same the API runs), shown on the fields they name; saving goes
through config.py's verbs."""

from django import forms
from django.utils.translation import gettext_lazy as _

from derpmgr.errors import ServiceError, show_on_form
from derpmgr.fields import StrictIntegerField

from . import config, targets
from .models import AlertChannel, MonitoringSettings


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=2000, widget=forms.Textarea({"rows": 3}),
                           help_text=_("What is being done about it (kept with the alert)."))



class ExpectedForm(forms.Form):
    """How long a customer's abnormal usage is expected (apps.traffic.usage.mark_expected)."""

    days = StrictIntegerField(label=_("Days"), min_value=1, max_value=90, required=False,
                              help_text=_("Counting today. Empty: until the end of today."))


CHANNEL_FIELDS = ["name", "kind", "enabled", "min_severity", "recipients", "url"]


class ChannelForm(forms.ModelForm):
    url = forms.CharField(label=_("webhook URL"), required=False, max_length=500,
                          help_text=_("Webhooks: an http(s) URL on a public address."))
    secret = forms.CharField(
        label=_("secret"), required=False, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Webhooks: the key the signature is made with (16 to 200 characters). "
                    "Leave empty to keep the current one; a new webhook without one gets a "
                    "generated secret, shown once."))
    regenerate_secret = forms.BooleanField(label=_("generate a new secret"), required=False)

    class Meta:
        model = AlertChannel
        fields = CHANNEL_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["kind"].disabled = True  # a channel's kind cannot change

    def changes(self) -> dict:
        """The fields to hand to config.py: all on creation, the edited ones on a change."""
        names = CHANNEL_FIELDS if not self.instance.pk else self.changed_data
        data = {name: self.cleaned_data[name] for name in names
                if name in CHANNEL_FIELDS and name in self.cleaned_data}
        if self.cleaned_data.get("secret"):
            data["secret"] = self.cleaned_data["secret"]
        return data

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            config.check_channel(self.changes(), current=self.instance if self.instance.pk
                                 else None)
        except ServiceError as error:
            show_on_form(self, error)
        return cleaned


class SettingsForm(forms.ModelForm):
    speed_test_url = forms.CharField(label=_("speed test URL"), required=False, max_length=200)

    class Meta:
        model = MonitoringSettings
        fields = list(config.SETTINGS_FIELDS)

    def clean_probe_targets(self):
        return _checked(self, targets.check_probe_targets, "probe_targets")

    def clean_speed_test_url(self):
        return _checked(self, targets.check_speed_test_url, "speed_test_url")

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data}


def _checked(form, check, name):
    try:
        return check(form.cleaned_data.get(name))
    except ServiceError as error:
        raise forms.ValidationError(error.fields.get(name) or [str(error.message)]) from None

