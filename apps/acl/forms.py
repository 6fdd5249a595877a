"""Input of the ACL pages and API. The node key's rules live in the service (one message for both);
these forms only say what shape the input has."""

from django import forms
from django.utils.translation import gettext_lazy as _

from derpmgr.fields import IntegerListField, StrictIntegerField

from .models import AclAccess, AclFormat

MAX_ID = 2**63 - 1


class TextField(forms.CharField):
    """Text that must arrive as text: a JSON list or number is refused, not turned into "[…]"."""

    def to_python(self, value):
        if value is not None and not isinstance(value, str):
            raise forms.ValidationError(_("Enter text."), code="invalid")
        return super().to_python(value)


class DeviceForm(forms.Form):
    name = TextField(label=_("Name"), max_length=64,
                     widget=forms.TextInput(attrs={"placeholder": _("e.g. laptop")}))
    node_key = TextField(
        label=_("Node key"), max_length=200, strip=True,
        widget=forms.TextInput(attrs={"placeholder": "nodekey:…", "autocomplete": "off",
                                      "spellcheck": "false"}),
        help_text=_("On the device run `tailscale status --json` and copy Self.PublicKey, or open "
                    "the machine in the Tailscale admin console (Machines) and copy its node key."))


class RenameForm(forms.Form):
    name = TextField(label=_("Name"), max_length=64)


class GenerateForm(forms.Form):
    """POST /api/acl/generate: user_id (admins; default: oneself) and optionally the server_ids
    the caller expects the derpMap to name."""

    user_id = StrictIntegerField(required=False, min_value=1, max_value=MAX_ID)
    server_ids = IntegerListField(max_items=100)


class DownloadForm(forms.Form):
    format = forms.ChoiceField(label=_("Format"), choices=AclFormat.choices)
    omit_default_regions = forms.TypedChoiceField(
        label=_("Use only my relays (OmitDefaultRegions)"), required=False,
        choices=[("", ""), ("true", "true"), ("false", "false"), ("1", "1"), ("0", "0")],
        coerce=lambda value: value in ("true", "1"), empty_value=True)


class UserFilterForm(forms.Form):
    user_id = StrictIntegerField(required=False, min_value=1, max_value=MAX_ID)

    def apply(self, queryset):
        if self.cleaned_data.get("user_id"):
            queryset = queryset.filter(user_id=self.cleaned_data["user_id"])
        return queryset


class LogFilterForm(UserFilterForm):
    format = forms.ChoiceField(required=False, choices=[("", ""), *AclAccess.choices])

    def apply(self, queryset):
        queryset = super().apply(queryset)
        if self.cleaned_data.get("format"):
            queryset = queryset.filter(format=self.cleaned_data["format"])
        return queryset
