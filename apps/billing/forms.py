from django import forms
from django.utils.translation import gettext_lazy as _

from derpmgr.fields import StrictIntegerField

from .models import OrderStatus, Plan, SettlementMethod


class PurchaseForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("Plan"), queryset=Plan.objects.filter(active=True),
                                  required=False, empty_label=None)
    duration_days = StrictIntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    coupon = forms.CharField(label=_("Coupon"), required=False, max_length=32)

    def clean(self):
        data = super().clean()
        if not data.get("plan") and not data.get("duration_days") and not self.errors:
            raise forms.ValidationError(_("Choose a plan."))
        return data


class TopUpForm(forms.Form):
    user_id = StrictIntegerField(min_value=1)
    amount_fen = StrictIntegerField(label=_("Amount (fen)"), min_value=1)
    reference = forms.CharField(label=_("Payment reference"), max_length=128)


class MarkOrderForm(forms.Form):
    status = forms.ChoiceField(label=_("Mark as"), choices=OrderStatus.choices)
    reference = forms.CharField(label=_("Payment reference"), required=False, max_length=128)


class SettleForm(forms.Form):
    distributor_id = StrictIntegerField(min_value=1)
    method = forms.ChoiceField(label=_("Method"), choices=SettlementMethod.choices)
    reference = forms.CharField(label=_("Reference"), required=False, max_length=128)
