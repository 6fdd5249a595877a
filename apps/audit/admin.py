from django.contrib import admin

from derpmgr.admin_lists import AppFilter, ModelLabelFilter
from derpmgr.admin_mixins import PolicyAdminMixin, ReadOnlyAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin, PolicyAdminMixin, admin.ModelAdmin):
    """Read-only for everyone, super admins included: the log is append-only."""

    list_display = ["created_at", "actor_label", "action", "target_type", "target_label", "ip"]
    list_filter = [AppFilter, ModelLabelFilter]  # choices from the code: no scan of the log
    search_fields = ["actor_label", "action", "target_label", "target_id", "ip"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def get_queryset(self, request):
        return AuditEvent.objects.visible_to(request.user)
