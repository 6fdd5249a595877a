"""Serializer fields that take what the schema says and nothing that merely resembles it.

DRF's own fields coerce: CharField turns 5 into "5" and a list into its repr, BooleanField takes
"1", "yes" and 1, IntegerField takes "7.0" and True. An API whose published types are promises
refuses those instead, with the field's name in the error.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# PostgreSQL's integer: larger numbers would fail in the database (a 500) instead of here.
INT_MAX = 2**31 - 1
# A primary key (BigAutoField): ids beyond it name nothing and are refused as malformed.
ID_MAX = 2**63 - 1


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": _("Not a valid string.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(StrictCharField, serializers.EmailField):
    default_error_messages = {"invalid": _("Enter a valid email address.")}


class StrictChoiceField(serializers.ChoiceField):
    """A choice that must be given as the string it is (not 1 for "1")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false; form-encoded bodies may send "true"/"false" (their only way)."""

    default_error_messages = {"invalid": _("Must be true or false.")}
    _FORM_SPELLINGS = {"true": True, "false": False}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data.lower() in self._FORM_SPELLINGS:
            return self._FORM_SPELLINGS[data.lower()]
        self.fail("invalid")


class StrictIntegerField(serializers.IntegerField):
    """A whole number (JSON number, or digits in a form body), always bounded: within
    PostgreSQL's integer unless narrower min_value/max_value are given."""

    default_error_messages = {"invalid": _("A whole number is required.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", -INT_MAX - 1)
        kwargs.setdefault("max_value", INT_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, float) and data.is_integer():
            data = int(data)
        if isinstance(data, str) and data.strip().lstrip("-").isdigit() and data.isascii():
            data = int(data)
        if not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIPAddressField(StrictCharField, serializers.IPAddressField):
    pass


class StrictModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose generated input fields are the strict ones above."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        # Model validators (slug, URL, lengths) still come along as the field's validators.
        serializers.models.CharField: StrictCharField,
        serializers.models.TextField: StrictCharField,
        serializers.models.SlugField: StrictCharField,
        serializers.models.URLField: StrictCharField,
        serializers.models.EmailField: StrictEmailField,
        serializers.models.BooleanField: StrictBooleanField,
        serializers.models.IntegerField: StrictIntegerField,
        serializers.models.PositiveIntegerField: StrictIntegerField,
        serializers.models.PositiveSmallIntegerField: StrictIntegerField,
        serializers.models.SmallIntegerField: StrictIntegerField,
        serializers.models.GenericIPAddressField: StrictIPAddressField,
    }
    serializer_choice_field = StrictChoiceField


class ChoiceLabelField(serializers.CharField):
    """The label of a choice (`source` is the field holding the value), in the request's
    language. Model.get_FOO_display translates every label of the field to find one, for every
    row; this translates the one shown."""

    def __init__(self, choices, **kwargs):
        self.labels = dict(choices)
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return str(self.labels.get(value, value))
