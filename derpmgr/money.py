"""Money as people write it (yuan, "12.5") and as the books keep it (integer fen, 1250).

Every form where a person types an amount uses `YuanField`; every page shows amounts with
`format_fen`. The field's widget carries data attributes that static/js/app.js reads to show the
amount as it will be booked ("¥12.50") while it is typed.
"""

import re
import unicodedata

from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

MAX_FEN = 100_000_000  # ¥1,000,000.00: any single amount above it is a typo
_AMOUNT = re.compile(r"(?P<yuan>\d+)(?:\.(?P<decimals>\d*))?")
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?")


def format_fen(fen: int) -> str:
    """¥12.34 from 1234 fen, for people; the number itself stays an integer everywhere else."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def yuan_text(fen: int) -> str:
    """1250 → "12.50": what a form shows in its box for a stored amount."""
    yuan, cents = divmod(int(fen), 100)
    return f"{yuan}.{cents:02d}"


class YuanInput(forms.TextInput):
    """A text box for yuan followed by the amount it books ("= ¥12.50"), which static/js/app.js
    keeps up to date while it is typed (data-yuan names the preview; no inline script)."""

    class Media:
        js = ["js/app.js"]  # the admin's pages load it through the form's media

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00",
                          **(attrs or {})})

    def render(self, name, value, attrs=None, renderer=None):
        attrs = dict(attrs or {})
        preview_id = f"{attrs.get('id') or 'id_' + name}-preview"
        attrs.update({"data-yuan": preview_id,
                      "data-yuan-invalid": str(_("Not an amount in yuan yet"))})
        box = super().render(name, value, attrs, renderer)
        return format_html('{}<output class="yuan-preview" id="{}" aria-live="polite">{}</output>',
                           box, preview_id, preview_of(value))


def preview_of(value) -> str:
    """What the preview says for the box's current text: the amount booked, or nothing."""
    try:
        return format_fen(parse_yuan(value)) if value not in (None, "") else ""
    except forms.ValidationError:
        return ""


ERRORS = {
    "invalid": _("Enter an amount in yuan, such as 12.50."),
    "decimals": _("At most two decimals: the smallest amount is ¥0.01 (one fen)."),
    "negative": _("The amount cannot be negative."),
}


def parse_yuan(value, *, messages=ERRORS) -> int:
    """Integer fen from yuan as a person types it: "12", "12.5", "¥1,234.50", full-width digits
    (a Chinese input method's "１２．５") too. A ValidationError saying what to type otherwise."""
    if not isinstance(value, str):
        raise forms.ValidationError(messages["invalid"], code="invalid")
    text = unicodedata.normalize("NFKC", value).replace(" ", "").removeprefix("¥")
    if text.startswith("-"):
        raise forms.ValidationError(messages["negative"], code="negative")
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    match = _AMOUNT.fullmatch(text)
    if not match or len(match["yuan"]) > 12:
        raise forms.ValidationError(messages["invalid"], code="invalid")
    decimals = (match["decimals"] or "").rstrip("0")
    if len(decimals) > 2:
        raise forms.ValidationError(messages["decimals"], code="decimals")
    return int(match["yuan"]) * 100 + int(decimals.ljust(2, "0"))


class YuanField(forms.Field):
    """An amount typed in yuan ("12", "12.5", "¥1,234.50", full-width digits too), cleaned to
    integer fen. Refuses more than two decimals, negatives, words and amounts above `max_fen`
    with a message that says what to type instead."""

    widget = YuanInput
    default_error_messages = {
        **ERRORS,
        "too_small": _("The amount must be at least %(min)s."),
        "too_large": _("The amount must be at most %(max)s."),
    }

    def __init__(self, *, min_fen: int = 1, max_fen: int = MAX_FEN, **kwargs):
        self.min_fen, self.max_fen = min_fen, max_fen
        kwargs.setdefault("help_text", _("In yuan, e.g. 12.50."))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return yuan_text(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        return parse_yuan(value, messages=self.error_messages)

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        if value < self.min_fen:
            raise forms.ValidationError(self.error_messages["too_small"], code="too_small",
                                        params={"min": format_fen(self.min_fen)})
        if value > self.max_fen:
            raise forms.ValidationError(self.error_messages["too_large"], code="too_large",
                                        params={"max": format_fen(self.max_fen)})
