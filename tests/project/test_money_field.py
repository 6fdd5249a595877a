"""derpmgr.money: amounts typed in yuan, kept in fen, with clear words for what is refused."""

import pytest
from django import forms
from django.utils import translation

from derpmgr.money import MAX_FEN, YuanField, format_fen


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):
        yield


class Amount(forms.Form):
    amount = YuanField()


def cleaned(text):
    form = Amount({"amount": text})
    return form.cleaned_data["amount"] if form.is_valid() else form.errors["amount"]


@pytest.mark.parametrize(("typed", "fen"), [
    ("12.5", 1250), ("12", 1200), ("12.", 1200), ("0.01", 1), ("12.50", 1250), (" 12.5 ", 1250),
    ("¥12.5", 1250), ("￥12.5", 1250), ("1,234.56", 123456), ("１２．５", 1250),  # an IME's digits
    ("12.500", 1250), ("1000000", MAX_FEN),
])
def test_yuan_become_fen(typed, fen):
    assert cleaned(typed) == fen


@pytest.mark.parametrize(("typed", "message"), [
    ("12.345", "At most two decimals: the smallest amount is ¥0.01 (one fen)."),
    ("-5", "The amount cannot be negative."),
    ("－5", "The amount cannot be negative."),
    ("abc", "Enter an amount in yuan, such as 12.50."),
    ("1e3", "Enter an amount in yuan, such as 12.50."),
    ("12,5", "Enter an amount in yuan, such as 12.50."),
    (".5", "Enter an amount in yuan, such as 12.50."),
    ("NaN", "Enter an amount in yuan, such as 12.50."),
    ("9" * 40, "Enter an amount in yuan, such as 12.50."),
    ("0", "The amount must be at least ¥0.01."),
    ("1000000.01", "The amount must be at most ¥1,000,000.00."),
    ("", "This field is required."),
])
def test_what_is_not_an_amount_is_refused_saying_why(typed, message):
    assert cleaned(typed) == [message]


def test_a_stored_amount_is_shown_in_yuan_in_its_box_with_its_preview():
    html = str(Amount(initial={"amount": 1250})["amount"])
    assert 'value="12.50"' in html
    assert 'data-yuan="id_amount-preview"' in html and 'inputmode="decimal"' in html
    assert '<output class="yuan-preview" id="id_amount-preview" aria-live="polite">¥12.50</output>' in html


def test_a_refused_amount_keeps_what_was_typed_and_previews_nothing():
    html = str(Amount({"amount": "12.345"})["amount"])
    assert 'value="12.345"' in html
    assert 'aria-live="polite"></output>' in html


@pytest.mark.parametrize(("fen", "shown"), [(0, "¥0.00"), (5, "¥0.05"), (123456, "¥1,234.56"),
                                            (-3900, "-¥39.00")])
def test_amounts_are_shown_in_yuan(fen, shown):
    assert format_fen(fen) == shown
