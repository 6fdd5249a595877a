from django import forms
from django.utils.translation import gettext_lazy as _

from derpmgr.fields import StrictIntegerField

from .models import Plan
from .validators import COUPON_MAX_LENGTH, require_plan_choice


class PurchaseForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("Plan"), queryset=Plan.objects.filter(active=True),
                                  required=False, empty_label=None)
    duration_days = StrictIntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    coupon = forms.CharField(label=_("Coupon"), required=False, max_length=COUPON_MAX_LENGTH)

    def clean(self):
        data = super().clean()
        if not self.errors:
            require_plan_choice(data)
        return data
