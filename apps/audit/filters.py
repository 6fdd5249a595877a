import re

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from derpmgr.fields import UtcDateTimeField

_USER_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits that fit a 64-bit id


class AuditFilterForm(forms.Form):
    """Filters shared by the ops page and GET /api/logs/system."""

    actor = forms.CharField(label=_("Actor"), required=False, max_length=254,
                            help_text=_("User id or e-mail"))
    action = forms.CharField(label=_("Action"), required=False, max_length=64)
    target = forms.CharField(label=_("Target"), required=False, max_length=128,
                             help_text=_("type, or type:id (e.g. accounts.user:12)"))
    since = UtcDateTimeField(label=_("From"), required=False)
    until = UtcDateTimeField(label=_("Until"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("'From' must be before 'Until'."))
        return data

    def apply(self, queryset):
        data = self.cleaned_data
        if data.get("actor"):
            actor = data["actor"]
            if actor.isascii() and actor.isdigit():
                # An id too long for any account names nobody (and must not reach the database).
                match = Q(actor_id=int(actor)) if _USER_ID.fullmatch(actor) else Q(pk__in=[])
            else:
                # The label is the address at the time; the account may have changed it since.
                match = Q(actor_label__iexact=actor) | Q(actor__email__iexact=actor)
            queryset = queryset.filter(match)
        if data.get("action"):
            queryset = queryset.filter(action__startswith=data["action"])
        if data.get("target"):
            kind, _sep, target_id = data["target"].partition(":")
            queryset = queryset.filter(target_type=kind.lower())
            if target_id:
                queryset = queryset.filter(target_id=target_id)
        if data.get("since"):
            queryset = queryset.filter(created_at__gte=data["since"])
        if data.get("until"):
            queryset = queryset.filter(created_at__lte=data["until"])
        return queryset
