from django import forms
from django.utils.translation import gettext_lazy as _


class ComposeForm(forms.Form):
    """POST /api/notifications/send: an admin writes to one user."""

    user_id = forms.IntegerField(required=False, min_value=1)
    email = forms.EmailField(required=False, max_length=254)
    subject = forms.CharField(max_length=200)
    message = forms.CharField(max_length=20000)

    def clean(self):
        data = super().clean()
        if not data.get("user_id") and not data.get("email"):
            raise forms.ValidationError(_("Name the user: user_id or email."))
        return data


class TestEmailForm(forms.Form):
    to = forms.EmailField(label=_("Send a test e-mail to"), max_length=254)
