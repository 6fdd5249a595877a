from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.billing.models import Plan
from derpmgr.fields import IntegerListField, StrictIntegerField

from .models import CodeStatus, DistributorTier
from .validators import (
    CODE_MAX_LENGTH,
    PINNED_SERVERS_MAX,
    REVOKE_IDS_MAX,
    VALID_DAYS_MAX,
    require_revoke_selection,
)


class GenerateCodesForm(forms.Form):
    """A batch of codes (portal, admin and API). The API names the plan by duration_days."""

    duration_days = StrictIntegerField(label=_("Plan (days)"), min_value=1)
    quantity = StrictIntegerField(label=_("How many codes"), min_value=1, initial=1,
                                  max_value=settings.CODE_BATCH_MAX,
                                  error_messages={"required": _("Say how many codes you want.")})
    server_ids = IntegerListField(label=_("Pin to servers"), max_items=PINNED_SERVERS_MAX)
    pay_with_balance = forms.BooleanField(label=_("Pay from my balance now"), required=False,
                                          initial=True)


class AdminGenerateCodesForm(GenerateCodesForm):
    paid = forms.BooleanField(label=_("Paid"), required=False, initial=True,
                              help_text=_("Untick for codes handed out on credit."))
    valid_days = StrictIntegerField(label=_("Valid for (days)"), min_value=1, max_value=VALID_DAYS_MAX,
                                    required=False)


class RedeemForm(forms.Form):
    code = forms.CharField(label=_("Activation code"), max_length=CODE_MAX_LENGTH,
                           widget=forms.TextInput(attrs={"placeholder": "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX",
                                                         "autocomplete": "off"}))


class RevokeForm(forms.Form):
    """The portal revokes by id (POST /api/serial/revoke also takes codes: serializers.py)."""

    ids = IntegerListField(max_items=REVOKE_IDS_MAX)

    def clean(self):
        data = super().clean()
        require_revoke_selection(data)
        return data


class CodeFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any")), *CodeStatus.choices])
    plan = forms.ModelChoiceField(label=_("Plan"), required=False, queryset=Plan.objects.all(),
                                  empty_label=_("Any"))
    created_from = forms.DateField(label=_("Created from"), required=False)
    created_to = forms.DateField(label=_("Created to"), required=False)
    q = forms.CharField(label=_("Code or customer e-mail"), required=False, max_length=64)

    def apply(self, queryset):
        from django.db.models import Q
        from django.utils import timezone

        data = self.cleaned_data
        if data.get("status") == CodeStatus.EXPIRED:
            queryset = queryset.filter(Q(status=CodeStatus.EXPIRED)
                                       | Q(status=CodeStatus.UNUSED, expires_at__lte=timezone.now()))
        elif data.get("status") == CodeStatus.UNUSED:
            queryset = queryset.filter(status=CodeStatus.UNUSED, expires_at__gt=timezone.now())
        elif data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("plan"):
            queryset = queryset.filter(plan=data["plan"])
        if data.get("created_from"):
            queryset = queryset.filter(created_at__date__gte=data["created_from"])
        if data.get("created_to"):
            queryset = queryset.filter(created_at__date__lte=data["created_to"])
        if data.get("q"):
            needle = data["q"].strip().replace("-", "").upper()
            queryset = queryset.filter(Q(code__icontains=needle) | Q(user__email__icontains=data["q"]))
        return queryset


class NewDistributorForm(forms.Form):
    """A distributor in one form: their account, tier and owning admin. The person chooses their
    password through the invitation e-mailed to them. Who may pick which tier and owner is the
    service's rule; the view offers only those choices."""

    email = forms.EmailField(label=_("E-mail address"), max_length=254,
                             help_text=_("The invitation to choose a password goes here."))
    username = forms.CharField(label=_("Username"), max_length=150)
    tier = forms.ModelChoiceField(label=_("Tier"), queryset=DistributorTier.objects.none(),
                                  empty_label=None)
    owner = forms.ModelChoiceField(label=_("Owning admin"), queryset=User.objects.none(),
                                   required=False, help_text=_("Empty: you."))

    def __init__(self, *args, tiers, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].validators = list(User._meta.get_field("username").validators)
        self.fields["tier"].queryset = tiers.order_by("rank", "pk")
        if owners is None:
            del self.fields["owner"]
        else:
            self.fields["owner"].queryset = owners.order_by("email")
