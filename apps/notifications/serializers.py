"""What POST /api/notifications/send accepts."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from derpmgr.api_fields import ID_MAX, StrictCharField, StrictEmailField, StrictIntegerField


class ComposeSerializer(serializers.Serializer):
    """An admin writes to one user, named by id or by e-mail address."""

    user_id = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=ID_MAX)
    email = StrictEmailField(required=False, allow_blank=True, max_length=254)
    subject = StrictCharField(max_length=200)
    message = StrictCharField(max_length=20000)

    def validate(self, attrs):
        if not attrs.get("user_id") and not attrs.get("email"):
            raise serializers.ValidationError(_("Name the user: user_id or email."))
        return attrs
