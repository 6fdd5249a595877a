"""The operators' forms for a rental (the ops customer page and the admin's actions). They check
the shape of what was typed; services.py decides whether it may be done."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.billing.models import Plan
from derpmgr.errors import ServiceError, show_on_form
from derpmgr.fields import StrictIntegerField

from .services import MAX_RENEWAL_DAYS, parse_end


class RenewForm(forms.Form):
    """Renew to an end date, or by a number of days, or by a plan's days: exactly one."""

    until = forms.DateField(label=_("New end date"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}),
                            help_text=_("The rental runs through this day (YYYY-MM-DD)."))
    days = StrictIntegerField(label=_("Or add days"), required=False, min_value=1,
                              max_value=MAX_RENEWAL_DAYS)
    plan = forms.ModelChoiceField(label=_("Or add a plan's days"), required=False,
                                  queryset=Plan.objects.filter(active=True))

    def clean_until(self):
        until = self.cleaned_data.get("until")
        try:
            if until:
                parse_end(until)  # in the future, within ten years
        except ServiceError as error:
            raise forms.ValidationError(error.message, code=error.code) from None
        return until

    def clean(self):
        data = super().clean()
        given = [name for name in ("until", "days", "plan") if data.get(name)]
        if not self.errors and len(given) != 1:
            raise forms.ValidationError(_("Give one of: an end date, a number of days or a "
                                          "plan."), code="invalid_renewal")
        return data

    def renewal(self) -> dict:
        """The arguments of services.renew: until=... or days=..."""
        data = self.cleaned_data
        if data.get("until"):
            return {"until": data["until"]}
        return {"days": data["plan"].duration_days if data.get("plan") else data["days"]}


class SuspendForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(
        attrs={"rows": 2}), help_text=_("The customer sees it."))


class DeleteForm(forms.Form):
    confirm = forms.BooleanField(label=_("Yes, delete this account"), help_text=_(
        "Its derpMaps are destroyed, its relays removed and the account anonymised; its orders, "
        "ledger and audit stay for the books."))


def show_refusal(form: forms.Form, error: ServiceError) -> None:
    """A service's refusal on the form (a refused deletion lists its open items, one per line)."""
    show_on_form(form, error, general=forms.ValidationError(
        [_("The account cannot be deleted while finance is unsettled:"),
         *error.fields["unsettled"]]) if "unsettled" in error.fields else None)
