"""Servers in the Django admin, for admins and super admins (servers are operations, not
settings), as far as their permissions reach (apps.accounts.policy). Adding saves the server and
queues its set-up (SSH, host key, engine, certificate) for a worker; editing changes only the
settings that need no remote work; deletion, re-pinning, reconcile and drain are actions that
queue operations. The credential is never shown."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from apps.accounts.policy import can
from apps.containers import requests as relay_requests
from apps.containers.models import DerpInstance
from apps.operations.views import tell_queued
from derpmgr.admin_mixins import ReadOnlyAdmin, confirm_action, render_form_page
from derpmgr.errors import ServiceError, show_on_form
from derpmgr.net import client_ip

from . import drivers, requests, services
from .forms import AddServerForm, RepinForm, ServerChangeForm
from .models import Server


def _fingerprint(server: Server) -> str:
    return drivers.host_key_fingerprint(server.ssh_host_key) if server.ssh_host_key else ""


class LiveRelayInline(ReadOnlyAdmin, admin.TabularInline):
    model = DerpInstance
    verbose_name_plural = _("live relays")
    fields = ["user", "port", "status", "last_error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        return (DerpInstance.objects.visible_to(request.user).live().select_related("user")
                .order_by("port"))

    def has_view_permission(self, request, obj=None):
        return can(request.user, "containers.view_derpinstance")


@admin.register(Server)
class ServerAdmin(admin.ModelAdmin):
    form = ServerChangeForm
    list_display = ["name", "aliyun_account", "location", "public_ip", "relays", "total_traffic",
                    "monthly_remaining", "status"]
    list_filter = ["status", "region"]
    search_fields = ["name", "public_ip", "domain", "aliyun_account", "location"]
    readonly_fields = ["public_ip", "domain", "ssh_host", "ssh_port", "ssh_user", "ssh_auth",
                       "host_key_fingerprint", "cert_fingerprint", "month_traffic",
                       "total_traffic", "monthly_remaining", "relays", "last_error", "created_at",
                       "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "status", "aliyun_account", "location", "region"]}),
        (_("Relays"), {"fields": ["port_range_start", "port_range_end", "max_containers",
                                  "derp_image", "relays"]}),
        (_("Traffic"), {"fields": ["monthly_quota_gb", "quota_reset_day", "traffic_interface",
                                   "month_traffic",
                                   "monthly_remaining", "total_traffic"]}),
        (_("Fixed when added"), {
            "fields": ["public_ip", "domain", "ssh_host", "ssh_port", "ssh_user", "ssh_auth",
                       "host_key_fingerprint", "cert_fingerprint"],
            "description": _("The address, SSH access and domain were checked and pinned when "
                             "the server was added. To change them, drain the server, delete "
                             "it and add it again.")}),
        (_("History"), {"fields": ["last_error", "created_at", "updated_at"]}),
    ]
    inlines = [LiveRelayInline]
    actions = ["reconcile", "drain", "repin_host_keys", "delete_servers", "speed_test"]

    def get_queryset(self, request):
        return services.with_relay_counts(Server.objects.visible_to(request.user))

    # --- Columns ---

    @admin.display(description=_("relays"), ordering="relays")
    def relays(self, server):
        return f"{server.relays} / {server.max_containers}"

    @admin.display(description=_("total traffic"), ordering="traffic_total_bytes")
    def total_traffic(self, server):
        return filesizeformat(server.traffic_total_bytes)

    @admin.display(description=_("traffic this month"), ordering="traffic_month_bytes")
    def month_traffic(self, server):
        return filesizeformat(server.traffic_month_bytes)

    @admin.display(description=_("remaining this month"))
    def monthly_remaining(self, server):
        remaining = server.monthly_remaining_bytes
        return _("no quota") if remaining is None else filesizeformat(remaining)

    @admin.display(description=_("pinned SSH host key"))
    def host_key_fingerprint(self, server):
        return _fingerprint(server)

    # --- Who may do what: the policy (model permissions); nobody deletes the stock way ---

    def has_delete_permission(self, request, obj=None):
        return False  # "Delete servers" reclaims what is on the server first

    def has_operate_permission(self, request):
        return can(request.user, "servers.operate_server")

    def has_reclaim_permission(self, request):
        return can(request.user, "servers.delete_server")

    # --- Adding saves the row and queues the remote set-up ---

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = AddServerForm(request.POST if request.method == "POST" else None)
        status = None
        if form.is_bound and form.is_valid():
            try:
                _server, operation = requests.add(actor=request.user, data=form.new_server(),
                                                 ip=client_ip(request))
            except ServiceError as error:
                show_on_form(form, error)
                status = error.status
            else:
                tell_queued(request, [operation])
                return redirect("operations:detail", operation.pk)
        response = render_form_page(self, request, form=form, title=_("Add a server"),
                                    button=_("Connect and add"))
        if status:
            response.status_code = status
        return response

    def save_model(self, request, obj, form, change):
        # Only the change form reaches here (adding has its own view): the service saves and
        # audits the edited settings.
        services.update_server(actor=request.user, server=obj, changes=form.changes(),
                               ip=client_ip(request))

    # --- Actions: each queues one operation per server ---

    def _each(self, request, queryset, ask):
        queued, refused = [], []
        for server in queryset:
            try:
                queued.append(ask(server))
            except ServiceError as error:
                refused.append(f"{server.name}: {error.message}")
        tell_queued(request, queued, refused=refused)

    @admin.action(description=_("Reconcile the selected servers"), permissions=["operate"])
    def reconcile(self, request, queryset):
        self._each(request, queryset, lambda server: relay_requests.reconcile(
            actor=request.user, server=server, ip=client_ip(request)))

    @admin.action(description=_("Run a speed test"), permissions=["operate"])
    def speed_test(self, request, queryset):
        from apps.monitoring import speedtest  # monitoring sits above the servers app

        self._each(request, queryset, lambda server: speedtest.request(
            actor=request.user, server=server, ip=client_ip(request)))

    @admin.action(description=_("Drain the selected servers (move their relays elsewhere)"),
                  permissions=["operate"])
    def drain(self, request, queryset):
        page = confirm_action(self, request, queryset, title=_("Drain servers"),
                              question=_("Every relay on these servers moves to other servers; "
                                         "they take no new relays until set back to healthy."),
                              button=_("Drain"))
        if page is not None:
            return page
        self._each(request, queryset, lambda server: relay_requests.drain(
            actor=request.user, server=server, ip=client_ip(request)))
        return None

    @admin.action(description=_("Re-pin the SSH host keys of the selected servers"),
                  permissions=["change"])
    def repin_host_keys(self, request, queryset):
        form = RepinForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid() and form.cleaned_data["expected_fingerprint"] \
                and queryset.count() != 1:
            form.add_error("expected_fingerprint",
                           _("An expected fingerprint belongs to one server: select only one."))
        page = confirm_action(self, request, queryset, title=_("Re-pin SSH host keys"),
                              question=_("Accept the host keys these servers present now? Only "
                                         "when you know why they changed (a reinstall, say)."),
                              button=_("Re-pin"), form=form)
        if page is not None:
            return page
        expected = form.cleaned_data["expected_fingerprint"]
        self._each(request, queryset, lambda server: requests.repin(
            actor=request.user, server=server, expected_fingerprint=expected,
            ip=client_ip(request)))
        return None

    @admin.action(description=_("Delete the selected servers (empty or drained only)"),
                  permissions=["reclaim"])
    def delete_servers(self, request, queryset):
        page = confirm_action(self, request, queryset, title=_("Delete servers"),
                              question=_("The panel's containers, certificates and files are "
                                         "removed from these servers and the servers forgotten. "
                                         "A server that still runs relays is refused."),
                              button=_("Delete"))
        if page is not None:
            return page
        self._each(request, queryset, lambda server: requests.delete(
            actor=request.user, server=server, ip=client_ip(request)))
        return None
