from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import ServerStatus


class ServerFilterForm(forms.Form):
    """Filters of the server list (GET /api/server/list; the ops page may share them)."""

    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any")), *ServerStatus.choices])
    region = forms.CharField(label=_("Region"), required=False, max_length=64)
    q = forms.CharField(label=_("Name, address or location"), required=False, max_length=253,
                        help_text=_("Part of the name, public IP, domain or location"))

    def apply(self, queryset):
        data = self.cleaned_data
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("region"):
            queryset = queryset.filter(region=data["region"])
        if data.get("q"):
            needle = data["q"].strip()
            queryset = queryset.filter(Q(name__icontains=needle) | Q(public_ip__startswith=needle)
                                       | Q(domain__icontains=needle) | Q(location__icontains=needle))
        return queryset
