"""Operations in the Django admin: read-only, with a cancel action (the policy decides who)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.accounts.policy import can
from derpmgr.admin_mixins import ReadOnlyAdmin
from derpmgr.errors import ServiceError
from derpmgr.net import client_ip

from . import services
from .models import JobLock, Operation
from .views import tell_queued


@admin.register(Operation)
class OperationAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["id", "kind", "target_label", "state", "progress", "attempts", "requested_by",
                    "created_at", "finished_at"]
    list_filter = ["state", "kind"]
    search_fields = ["target_label", "error", "dedupe_key"]
    list_select_related = ["requested_by"]
    readonly_fields = ["kind", "state", "target_label", "server_id", "instance_id", "customer_id",
                       "args", "progress", "progress_message", "result", "error", "error_code",
                       "attempts", "max_attempts", "requested_by", "cancel_requested",
                       "not_before", "created_at", "started_at", "finished_at", "updated_at"]
    fields = readonly_fields
    actions = ["cancel"]

    def get_queryset(self, request):
        return Operation.objects.visible_to(request.user).select_related("requested_by")

    def has_cancel_permission(self, request):
        return can(request.user, "operations.cancel_operation")

    @admin.action(description=_("Cancel the selected operations"), permissions=["cancel"])
    def cancel(self, request, queryset):
        refused = []
        for operation in queryset:
            try:
                services.cancel(actor=request.user, operation=operation, ip=client_ip(request))
            except ServiceError as error:
                refused.append(f"#{operation.pk}: {error.message}")
        tell_queued(request, [], refused=refused)


@admin.register(JobLock)
class JobLockAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["name", "last_started_at", "last_finished_at", "runs", "skipped",
                    "locked_until"]
from . import beat_admin  # noqa: E402, F401 - django-celery-beat's admin, translated
