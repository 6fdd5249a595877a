from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from derpmgr.admin_mixins import PolicyAdminMixin, ReadOnlyAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin, PolicyAdminMixin, admin.ModelAdmin):
    """Read-only for everyone, super admins included: the log is append-only."""

    list_display = ["created_at", "actor_label", "action_in_words", "target_type", "target_label", "ip"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_label", "action", "target_label", "target_id", "ip"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def get_queryset(self, request):
        return AuditEvent.objects.visible_to(request.user)

    @admin.display(description=_("action"), ordering="action")
    def action_in_words(self, event):
        return event.action_label
