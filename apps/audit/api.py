from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from derpmgr.api import allowed, filter_form, paginated_as, query_parameters

from .filters import AuditFilterForm
from .models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")
    target = serializers.CharField(source="target_label")
    action_label = serializers.CharField(help_text="The action in words, in the request's language.")

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "actor_id", "action", "action_label", "target", "target_type",
                  "target_id", "ip", "details"]
        read_only_fields = fields


class SystemLogView(ListAPIView):
    """GET /api/logs/system — the audit log, newest first (staff who may read it), as "results"
    and as the seed's "logs"."""

    permission_classes = [allowed("audit.view_auditevent")]
    serializer_class = AuditEventSerializer
    pagination_class = paginated_as("logs")

    def get_queryset(self):
        filters = filter_form(AuditFilterForm, self.request)
        return filters.apply(AuditEvent.objects.visible_to(self.request.user))

    @extend_schema(parameters=query_parameters(AuditFilterForm))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
