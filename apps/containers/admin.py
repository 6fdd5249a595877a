"""Relays in the Django admin: admins and super admins list them and operate on a selection.
Rows are made and changed by the services only; the admission token is never shown."""

from django.contrib import admin, messages
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from apps.servers.models import Server
from derpmgr.errors import ServiceError
from derpmgr.net import client_ip

from . import services
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
    fields = SHOWN_FIELDS
    readonly_fields = SHOWN_FIELDS
    actions = ["start", "stop", "restart", "remove", "migrate", "reconcile"]

    def get_queryset(self, request):
        return DerpInstance.objects.visible_to(request.user).select_related("user", "server")

    def has_module_permission(self, request):
        return request.user.is_staff_role

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff_role

    def has_operate_permission(self, request):
        return request.user.is_staff_role

    def has_add_permission(self, request):
        return False  # relays come from provisioning, the API or the actions here

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # "remove" takes the container down first; rows stay for the books

    @admin.display(description=_("last error"))
    def error_summary(self, obj):
        return Truncator(obj.last_error).chars(80)

    def _each(self, request, queryset, operation, done_message):
        done, refused = 0, []
        for instance in queryset:
            try:
                operation(actor=request.user, instance=instance, ip=client_ip(request))
            except ServiceError as error:
                refused.append(f"{instance}: {error.message}")
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    @admin.action(description=_("Start the selected relays"), permissions=["operate"])
    def start(self, request, queryset):
        self._each(request, queryset, services.start_stopped_instance, _("%(n)d relay(s) started."))

    @admin.action(description=_("Stop the selected relays"), permissions=["operate"])
    def stop(self, request, queryset):
        self._each(request, queryset, services.stop_instance, _("%(n)d relay(s) stopped."))

    @admin.action(description=_("Restart the selected relays"), permissions=["operate"])
    def restart(self, request, queryset):
        self._each(request, queryset, services.restart_instance, _("%(n)d relay(s) restarted."))

    @admin.action(description=_("Remove the selected relays"), permissions=["operate"])
    def remove(self, request, queryset):
        self._each(request, queryset, services.remove_instance, _("%(n)d relay(s) removed."))

    @admin.action(description=_("Move the selected relays to the least loaded server"),
                  permissions=["operate"])
    def migrate(self, request, queryset):
        self._each(request, queryset, services.migrate_instance, _("%(n)d relay(s) moved."))

    @admin.action(description=_("Reconcile the servers of the selected relays"),
                  permissions=["operate"])
    def reconcile(self, request, queryset):
        for server in Server.objects.filter(pk__in=queryset.values("server_id")):
            report = services.reconcile_server(server=server, actor=request.user)
            if report.error:
                self.message_user(request, _("%(server)s: not reconciled: %(why)s")
                                  % {"server": server.name, "why": report.error}, messages.ERROR)
                continue
            self.message_user(request, _(
                "%(server)s: %(started)d started, %(stopped)d stopped, %(orphans)d orphan(s) "
                "removed, %(recreated)d re-created, %(removals)d removal(s) finished.") % {
                "server": server.name, "started": len(report.started), "stopped": len(report.stopped),
                "orphans": len(report.removed_orphans), "recreated": len(report.recreated),
                "removals": len(report.finished_removals)}, messages.SUCCESS)
