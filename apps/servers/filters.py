"""Which servers: the filters shared by /ops/servers/ (and any list of servers that wants them)."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import ServerStatus


class ServerFilterForm(forms.Form):
    """Search by name, address, account or location; narrow by status and region."""

    q = forms.CharField(label=_("Search"), required=False, max_length=64,
                        help_text=_("Name, IP, domain, Aliyun account or location"))
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any")), *ServerStatus.choices])
    region = forms.CharField(label=_("Region"), required=False, max_length=64)

    def apply(self, servers):
        data = self.cleaned_data
        if data.get("q"):
            text = data["q"].strip()
            servers = servers.filter(
                Q(name__icontains=text) | Q(public_ip__startswith=text)
                | Q(domain__icontains=text) | Q(aliyun_account__contains=text)
                | Q(location__icontains=text))
        if data.get("status"):
            servers = servers.filter(status=data["status"])
        if data.get("region"):
            servers = servers.filter(region__iexact=data["region"].strip())
        return servers
