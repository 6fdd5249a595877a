"""Devices, derpMap versions and the download log in the Django admin (admins and super admins).
Devices are renamed and removed through the services (audited, and the relays' cached answers
follow); versions and downloads are read-only."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from derpmgr.admin_mixins import PolicyAdminMixin, ReadOnlyAdmin
from derpmgr.errors import ServiceError
from derpmgr.net import client_ip

from . import services
from .models import AclConfig, AclLog, Device


class DeviceAdminForm(forms.ModelForm):
    class Meta:
        model = Device
        fields = ["name"]

    def clean_name(self):
        try:
            return services.check_new_name(self.instance, self.cleaned_data["name"])
        except ServiceError as error:
            raise forms.ValidationError(error.message) from error


@admin.register(Device)
class DeviceAdmin(PolicyAdminMixin, admin.ModelAdmin):
    form = DeviceAdminForm
    list_display = ["name", "user", "node_key", "last_seen_at", "last_ip", "created_at"]
    search_fields = ["name", "node_key", "user__email", "user__username", "last_ip"]
    list_select_related = ["user"]
    fields = ["user", "name", "node_key", "last_seen_at", "last_ip", "created_at"]
    readonly_fields = ["user", "node_key", "last_seen_at", "last_ip", "created_at"]

    def get_queryset(self, request):
        return Device.objects.visible_to(request.user).select_related("user")

    def has_add_permission(self, request):
        return False  # customers register their devices (their plan's limit applies)

    def save_model(self, request, obj, form, change):
        services.rename_device(actor=request.user, device=obj, name=obj.name, ip=client_ip(request))

    def delete_model(self, request, obj):
        services.remove_device(actor=request.user, device=obj, ip=client_ip(request))

    def delete_queryset(self, request, queryset):
        for device in queryset:
            self.delete_model(request, device)


@admin.register(AclConfig)
class AclConfigAdmin(ReadOnlyAdmin, PolicyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "version", "issued_at", "expires_at", "reason", "regions"]
    list_filter = ["reason"]
    search_fields = ["user__email", "user__username"]
    list_select_related = ["user"]
    date_hierarchy = "issued_at"
    readonly_fields = ["user", "version", "issued_at", "expires_at", "reason", "derp_map"]

    def get_queryset(self, request):
        return AclConfig.objects.visible_to(request.user).select_related("user")

    @admin.display(description=_("regions"))
    def regions(self, obj):
        return ", ".join(obj.derp_map.get("Regions", {}))


@admin.register(AclLog)
class AclLogAdmin(ReadOnlyAdmin, PolicyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "user", "version", "format", "ip", "location"]
    list_filter = ["format"]
    search_fields = ["user__email", "user__username", "ip", "location"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    readonly_fields = ["user", "version", "format", "ip", "location", "created_at"]

    def get_queryset(self, request):
        return AclLog.objects.visible_to(request.user).select_related("user")
