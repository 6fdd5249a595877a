"""Monitoring in the Django admin. Alerts and their deliveries are read-only (the probes write
them); an alert is acknowledged with a note by an action. Alert channels and the thresholds are
the super admins' alone, and every save goes through config.py's audited verbs. A webhook's
secret is never shown, except once in the message after it was generated."""

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.accounts import policy
from derpmgr.admin_mixins import PolicyAdminMixin, ReadOnlyAdmin, confirm_action
from derpmgr.errors import ServiceError
from derpmgr.net import client_ip

from . import config, services
from .forms import AcknowledgeForm, ChannelForm, ExpectedForm, SettingsForm
from .models import Alert, AlertChannel, AlertDelivery, MonitoringSettings


class OpenFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", _("Open")), ("resolved", _("Resolved"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin, PolicyAdminMixin, admin.ModelAdmin):
    list_display = ["opened_at", "severity", "type", "target_label", "message", "resolved_at",
                    "acknowledged_at"]
    list_filter = [OpenFilter, "type", "severity", "target_kind"]
    search_fields = ["target_label", "message"]
    date_hierarchy = "opened_at"
    fields = ["type", "severity", "target_kind", "target_id", "target_label", "server_id",
              "message", "details", "opened_at", "last_seen_at", "resolved_at",
              "acknowledged_at", "acknowledged_by", "acknowledgement", "notified_at",
              "notifications"]
    readonly_fields = fields
    actions = ["acknowledge", "mark_expected"]

    def get_queryset(self, request):
        return Alert.objects.visible_to(request.user).select_related("acknowledged_by")

    def has_acknowledge_permission(self, request):
        return self.may(request, "acknowledge_alert")

    @admin.action(description=_("Acknowledge with a note…"), permissions=["acknowledge"])
    def acknowledge(self, request, queryset):
        form = AcknowledgeForm(request.POST if "apply" in request.POST else None)
        page = confirm_action(self, request, queryset, title=_("Acknowledge alerts"), form=form,
                              question=_("Say what is being done; the alerts stay open until "
                                         "their condition clears."), button=_("Acknowledge"))
        if page is not None:
            return page
        for alert in queryset:
            try:
                services.acknowledge(actor=request.user, alert=alert, note=form.cleaned_data["note"],
                                     ip=client_ip(request))
            except ServiceError as error:
                self.message_user(request, f"{alert}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{alert}: {_('acknowledged.')}", messages.SUCCESS)
        return None


    @admin.action(description=_("Mark the customers' usage as expected…"),
                  permissions=["acknowledge"])
    def mark_expected(self, request, queryset):
        from apps.traffic import usage  # traffic sits above monitoring

        form = ExpectedForm(request.POST if "apply" in request.POST else None)
        page = confirm_action(self, request, queryset, title=_("Mark usage as expected"),
                              form=form, button=_("Mark expected"),
                              question=_("The abnormal-usage alerts resolve and no new one opens "
                                         "for these customers until the end of the period."))
        if page is not None:
            return page
        for alert in queryset:
            try:
                usage.mark_expected(actor=request.user, user=usage.customer_of(alert),
                                    days=form.cleaned_data["days"], ip=client_ip(request))
            except ServiceError as error:
                self.message_user(request, f"{alert}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{alert}: {_('marked expected.')}", messages.SUCCESS)
        return None


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin, PolicyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "alert", "channel", "event", "state", "attempts",
                    "response_status", "last_error", "next_attempt_at", "sent_at"]
    list_filter = ["state", "event", "channel"]
    search_fields = ["alert__target_label", "last_error"]
    fields = ["alert", "channel", "event", "sequence", "state", "attempts", "next_attempt_at",
              "response_status", "last_error", "created_at", "sent_at"]
    readonly_fields = fields
    list_select_related = ["alert", "channel"]

    def get_queryset(self, request):
        return AlertDelivery.objects.visible_to(request.user)


class SuperAdminOnly:
    """Where alerts go and when they fire are the super admins' (admins see the alerts)."""

    def _superadmin(self, request) -> bool:
        return policy.can(request.user, policy.SUPERADMIN)

    def has_module_permission(self, request):
        return self._superadmin(request)

    def has_view_permission(self, request, obj=None):
        return self._superadmin(request)

    def has_add_permission(self, request, *args):
        return self._superadmin(request)

    def has_change_permission(self, request, obj=None):
        return self._superadmin(request)

    def has_delete_permission(self, request, obj=None):
        return self._superadmin(request)


def _tell_secret(model_admin, request, secret: str) -> None:
    if secret:
        model_admin.message_user(request, _("The webhook's secret, shown this once (copy it now): "
                                            "%(secret)s") % {"secret": secret}, messages.WARNING)


@admin.register(AlertChannel)
class AlertChannelAdmin(SuperAdminOnly, admin.ModelAdmin):
    form = ChannelForm
    list_display = ["name", "kind", "enabled", "min_severity", "url", "has_secret"]
    list_filter = ["kind", "enabled", "min_severity"]
    readonly_fields = ["has_secret", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "enabled", "min_severity"]}),
        (_("E-mail"), {"fields": ["recipients"]}),
        (_("Webhook"), {"fields": ["url", "secret", "regenerate_secret", "has_secret"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]
    actions = ["send_test"]

    @admin.display(description=_("secret set"), boolean=True)
    def has_secret(self, channel):
        return bool(channel.secret_encrypted)

    def save_model(self, request, obj, form, change):
        if change:
            saved, secret = config.update_channel(
                actor=request.user, channel=obj, data=form.changes(), ip=client_ip(request),
                regenerate_secret=form.cleaned_data.get("regenerate_secret", False))
        else:
            saved, secret = config.create_channel(actor=request.user, data=form.changes(),
                                                  ip=client_ip(request))
        obj.pk = saved.pk  # the admin's redirect and history name the saved row
        _tell_secret(self, request, secret)

    def delete_model(self, request, obj):
        config.delete_channel(actor=request.user, channel=obj, ip=client_ip(request))

    def delete_queryset(self, request, queryset):
        for channel in queryset:
            self.delete_model(request, channel)

    @admin.action(description=_("Send a test notification"))
    def send_test(self, request, queryset):
        for channel in queryset:
            result = config.test_channel(actor=request.user, channel=channel,
                                         ip=client_ip(request))
            if result.ok:
                text = (_("%(channel)s: the receiver answered %(status)s.")
                        % {"channel": channel, "status": result.response_status}
                        if result.response_status else
                        _("%(channel)s: test e-mail queued for %(n)d recipients.")
                        % {"channel": channel, "n": result.recipients})
                self.message_user(request, text, messages.SUCCESS)
            else:
                self.message_user(request, _("%(channel)s: the test failed: %(error)s")
                                  % {"channel": channel, "error": result.error or "-"},
                                  messages.ERROR)


@admin.register(MonitoringSettings)
class MonitoringSettingsAdmin(SuperAdminOnly, admin.ModelAdmin):
    """One row: the list goes straight to it."""

    form = SettingsForm
    readonly_fields = ["updated_at"]
    fieldsets = [
        (_("Health"), {"fields": ["failures_before_unhealthy", "successes_before_healthy",
                                  "relay_failures_before_alert"]}),
        (_("Alerts"), {"fields": ["latency_warning_ms", "disk_warning_percent",
                                  "memory_warning_percent", "repeat_notification_minutes"]}),
        (_("Failover"), {"fields": ["failover_after_minutes", "failover_cooldown_minutes"]}),
        (_("Latency and speed"), {"fields": ["probe_targets", "speed_test_url", "updated_at"]}),
    ]

    def has_add_permission(self, request, *args):
        return False  # the one row exists (made on first use)

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            return super().changelist_view(request, extra_context)  # the admin's refusal
        current = MonitoringSettings.current()
        return redirect(reverse("admin:monitoring_monitoringsettings_change", args=[current.pk]))

    def save_model(self, request, obj, form, change):
        config.update_settings(actor=request.user, changes=form.changes(), ip=client_ip(request))
