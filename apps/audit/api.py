from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from derpmgr.api import EnvelopePagination, FormInvalid, allowed

from .filters import AuditFilterForm
from .models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")
    target = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "actor_id", "action", "target", "target_type",
                  "target_id", "ip", "details"]

    def get_target(self, event) -> str:
        return event.target_label


def _filter_parameters() -> list[OpenApiParameter]:
    """The filters of AuditFilterForm, documented as query parameters."""
    return [OpenApiParameter(name, OpenApiTypes.DATETIME if name in ("since", "until") else str,
                             description=field.help_text or field.label)
            for name, field in AuditFilterForm.base_fields.items()]


@extend_schema_view(get=extend_schema(parameters=_filter_parameters()))
class SystemLogView(ListAPIView):
    """GET /api/logs/system — the audit log, newest first (staff who may read it)."""

    permission_classes = [allowed("audit.view_auditevent")]
    serializer_class = AuditEventSerializer
    pagination_class = EnvelopePagination

    def get_queryset(self):
        form = AuditFilterForm(self.request.query_params)
        if not form.is_valid():
            fields = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
            raise FormInvalid(next(iter(fields.values()))[0], fields=fields)
        return form.apply(AuditEvent.objects.visible_to(self.request.user))
