from django import forms
from django.utils.translation import gettext_lazy as _


class TestEmailForm(forms.Form):
    to = forms.EmailField(label=_("Send a test e-mail to"), max_length=254)
