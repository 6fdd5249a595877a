"""API input described by a page's Django form: one set of rules for pages and API.

`form_serializer(SomeForm)` is a serializer whose fields are the strict ones of
derpmgr/api_fields.py, taken from the form's fields (type, required, bounds, length, choices,
help text) — that is what the schema publishes and what refuses a number for a string or 1 for
a boolean. What passes is then handed to the form itself, so its clean_* and clean() checks (the
same the page runs) decide; their errors are the 400's field errors.

`validated(...)` answers the form's cleaned_data, with the bound form as its `.form` (for
methods such as AddServerForm.new_server()).
"""

from django import forms
from rest_framework import serializers

from derpmgr import fields as form_fields
from derpmgr.api_fields import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictEmailField,
    StrictIntegerField,
    StrictIPAddressField,
)

MAX_ID = 2**63 - 1


class CleanedData(dict):
    """A form's cleaned_data that remembers its form."""

    form: forms.Form


def _own_messages(field: forms.Field) -> dict:
    """The error messages the form gave this field itself (e.g. one refusal for every wrong
    quota), so that the API refuses in the same words as the page."""
    defaults = {}
    for cls in reversed(type(field).__mro__):
        defaults.update(getattr(cls, "default_error_messages", {}))
    return {key: message for key, message in field.error_messages.items()
            if defaults.get(key) != message}


def _common(field: forms.Field) -> dict:
    options = {"required": field.required}
    if messages := _own_messages(field):
        options["error_messages"] = messages
    if field.help_text:
        options["help_text"] = str(field.help_text)
    if field.label:
        options["label"] = str(field.label)
    return options


def _choices(field: forms.ChoiceField) -> list:
    return [(value, label) for value, label in field.choices if value != ""]


def _integer(field: forms.IntegerField, options: dict) -> serializers.Field:
    bounds = {name: getattr(field, name) for name in ("min_value", "max_value")
              if getattr(field, name, None) is not None}
    return StrictIntegerField(allow_null=not field.required, **bounds, **options)


def serializer_field(field: forms.Field) -> serializers.Field:
    """The strict serializer field for a form field (ValueError for a kind it does not know)."""
    options = _common(field)
    if isinstance(field, form_fields.IntegerListField):
        return serializers.ListField(child=StrictIntegerField(min_value=1, max_value=MAX_ID),
                                     max_length=field.max_items, **options)
    if isinstance(field, forms.BooleanField):
        return StrictBooleanField(**options)
    if isinstance(field, forms.ModelChoiceField):  # the object's id
        return StrictIntegerField(min_value=1, max_value=MAX_ID, allow_null=not field.required,
                                  **options)
    if isinstance(field, forms.IntegerField):
        return _integer(field, options)
    if isinstance(field, forms.ChoiceField):
        return StrictChoiceField(choices=_choices(field), allow_blank=not field.required, **options)
    if isinstance(field, forms.DateField):
        return serializers.DateField(allow_null=not field.required, **options)
    blank = {"allow_blank": not field.required, "trim_whitespace": False}
    if isinstance(field, forms.GenericIPAddressField):
        return StrictIPAddressField(**blank, **options)
    if isinstance(field, forms.EmailField):
        return StrictEmailField(max_length=field.max_length, **blank, **options)
    if isinstance(field, forms.CharField):
        return StrictCharField(max_length=field.max_length, **blank, **options)
    raise ValueError(f"no serializer field for {type(field).__name__}")


class FormSerializer(serializers.Serializer):
    form_class: type[forms.Form]

    def form_kwargs(self) -> dict:
        return {}

    def validate(self, attrs):
        form = self.form_class(data=dict(attrs), **self.form_kwargs())
        if not form.is_valid():
            raise serializers.ValidationError({
                ("non_field_errors" if name == forms.forms.NON_FIELD_ERRORS else name): list(errors)
                for name, errors in form.errors.items()})
        cleaned = CleanedData(form.cleaned_data)
        cleaned.form = form
        return cleaned


def form_serializer(form_class: type[forms.Form], name: str, *, exclude=(), **overrides):
    """A FormSerializer named `name` (the schema's component) for `form_class`; `overrides` give
    fields of one's own (e.g. help text written for API callers)."""
    declared = {field_name: serializer_field(field)
                for field_name, field in form_class.base_fields.items()
                if field_name not in exclude and field_name not in overrides}
    return type(name, (FormSerializer,), {"form_class": form_class, "__doc__": form_class.__doc__,
                                          "__module__": form_class.__module__,
                                          **declared, **overrides})
