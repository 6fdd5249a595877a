import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from derpmgr.admin_lists import AppFilter, ModelLabelFilter
from derpmgr.admin_mixins import PolicyAdminMixin, ReadOnlyAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin, PolicyAdminMixin, admin.ModelAdmin):
    """Read-only for everyone, super admins included: the log is append-only."""

    list_display = ["created_at", "actor_label", "action_in_words", "target_type", "target_label", "ip"]
    list_filter = [AppFilter, ModelLabelFilter]  # choices from the code: no scan of the log
    search_fields = ["actor_label", "action", "target_label", "target_id", "ip"]
    date_hierarchy = "created_at"
    fields = readonly_fields = [*(f.name for f in AuditEvent._meta.fields if f.name != "details"),
                                "details_as_json"]

    def get_queryset(self, request):
        return AuditEvent.objects.visible_to(request.user)

    @admin.display(description=_("details"))
    def details_as_json(self, event):
        # As the data it is (keys and values are codes, not words), in a block of code.
        return format_html("<pre>{}</pre>", json.dumps(event.details, ensure_ascii=False, indent=2))

    @admin.display(description=_("action"), ordering="action")
    def action_in_words(self, event):
        return event.action_label
