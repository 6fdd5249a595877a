"""Relays in the Django admin: admins and super admins list them and operate on a selection.
Rows are made and changed by the services only; the admission token is never shown."""

from django.contrib import admin
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from apps.accounts.policy import can
from apps.operations.models import OperationKind
from apps.operations.views import tell_queued
from apps.servers.models import Server
from derpmgr.errors import ServiceError
from derpmgr.net import client_ip

from . import requests
from .models import DerpInstance

SHOWN_FIELDS = ["user", "server", "port", "status", "container_name", "container_id", "replaces",
                "attempts", "last_error", "rx_bytes", "tx_bytes", "rate_bps", "last_sample_at",
                "created_at", "started_at", "stopped_at"]


@admin.register(DerpInstance)
class DerpInstanceAdmin(admin.ModelAdmin):
    list_display = ["user", "server", "port", "status", "created_at", "started_at", "error_summary"]
    list_filter = ["status", "server"]
    search_fields = ["user__email", "user__username", "server__name", "server__public_ip",
                     "container_name"]
    list_select_related = ["user", "server"]
    date_hierarchy = "created_at"
    fields = [*SHOWN_FIELDS, "recent_operations"]
    readonly_fields = fields
    actions = ["start", "stop", "restart", "remove", "migrate", "reconcile"]

    def get_queryset(self, request):
        return DerpInstance.objects.visible_to(request.user).select_related("user", "server")

    def has_operate_permission(self, request):
        return can(request.user, "containers.change_derpinstance")

    def has_remove_permission(self, request):
        return can(request.user, "containers.delete_derpinstance")

    def has_reconcile_permission(self, request):
        return can(request.user, "servers.operate_server")

    def has_add_permission(self, request):
        return False  # relays come from provisioning, the API or the actions here

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # "remove" takes the container down first; rows stay for the books

    @admin.display(description=_("Recent tasks"))
    def recent_operations(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html_join

        from apps.operations.models import Operation

        recent = Operation.objects.about(instance=obj)[:10]
        return format_html_join(
            ", ", '<a href="{}">#{} {} ({})</a>',
            ((reverse("operations:detail", args=[o.pk]), o.pk, o.get_kind_display(),
              o.get_state_display()) for o in recent)) or "—"

    @admin.display(description=_("last error"))
    def error_summary(self, obj):
        return Truncator(obj.last_error).chars(80)

    def _each(self, request, queryset, ask):
        queued, refused = [], []
        for instance in queryset:
            try:
                queued.append(ask(instance))
            except ServiceError as error:
                refused.append(f"{instance}: {error.message}")
        tell_queued(request, queued, refused=refused)

    def _relay_action(self, request, queryset, kind):
        self._each(request, queryset, lambda instance: requests.relay_action(
            kind, actor=request.user, instance=instance, ip=client_ip(request)))

    @admin.action(description=_("Start the selected relays"), permissions=["operate"])
    def start(self, request, queryset):
        self._relay_action(request, queryset, OperationKind.START)

    @admin.action(description=_("Stop the selected relays"), permissions=["operate"])
    def stop(self, request, queryset):
        self._relay_action(request, queryset, OperationKind.STOP)

    @admin.action(description=_("Restart the selected relays"), permissions=["operate"])
    def restart(self, request, queryset):
        self._relay_action(request, queryset, OperationKind.RESTART)

    @admin.action(description=_("Remove the selected relays"), permissions=["remove"])
    def remove(self, request, queryset):
        self._relay_action(request, queryset, OperationKind.REMOVE)

    @admin.action(description=_("Move the selected relays to the least loaded server"),
                  permissions=["operate"])
    def migrate(self, request, queryset):
        self._each(request, queryset, lambda instance: requests.migrate(
            actor=request.user, instance=instance, ip=client_ip(request)))

    @admin.action(description=_("Reconcile the servers of the selected relays"),
                  permissions=["reconcile"])
    def reconcile(self, request, queryset):
        queued = [requests.reconcile(actor=request.user, server=server, ip=client_ip(request))
                  for server in Server.objects.filter(pk__in=queryset.values("server_id"))]
        tell_queued(request, queued)
