from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from derpmgr.errors import ServiceError
from derpmgr.net import client_ip

from . import services
from .models import ApiToken, Role, User


class PermissionAuditMixin:
    """Grants and withdrawals made in the admin land in the audit log (same transaction)."""

    def save_related(self, request, form, formsets, change):
        obj = form.instance
        before = services.permission_labels(obj.permissions if isinstance(obj, Group)
                                            else obj.user_permissions) if change else set()
        super().save_related(request, form, formsets, change)
        after = services.permission_labels(obj.permissions if isinstance(obj, Group)
                                           else obj.user_permissions)
        services.record_permission_change(actor=request.user, target=obj, before=before,
                                          after=after, ip=client_ip(request))


@admin.register(User)
class UserAdmin(PermissionAuditMixin, DjangoUserAdmin):
    list_display = ["email", "username", "role", "email_verified", "rental_state",
                    "rental_expiry", "is_active", "created_at"]
    list_filter = ["role", "rental_state", "email_verified", "is_active"]
    search_fields = ["email", "username"]
    ordering = ["-created_at"]
    readonly_fields = ["created_at", "last_login"]
    add_fieldsets = ((None, {"classes": ["wide"],
                             "fields": ["email", "username", "password1", "password2"]}),)
    base_fieldsets = [
        (None, {"fields": ["email", "username", "password"]}),
        (_("Account"), {"fields": ["is_active", "email_verified", "language"]}),
        (_("Rental"), {"fields": ["rental_state", "rental_expiry"]}),
        (_("Dates"), {"fields": ["last_login", "created_at"]}),
    ]
    superadmin_fieldsets = [
        (_("Role and permissions"), {"fields": ["role", "groups", "user_permissions"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        if request.user.is_superuser:
            return self.base_fieldsets + self.superadmin_fieldsets
        return self.base_fieldsets

    def get_queryset(self, request):
        return User.objects.visible_to(request.user)

    def has_change_permission(self, request, obj=None):
        # An admin runs customer and distributor accounts (and their own), not other staff's.
        if obj is not None and not request.user.is_superuser and obj.is_staff_role \
                and obj.pk != request.user.pk:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Deleting an account settles finance and releases relays first: a service, not a cascade.
        return False

    def save_model(self, request, obj, form, change):
        new_role = obj.role
        if change and "role" in form.changed_data:
            obj.role = form.initial["role"]
            super().save_model(request, obj, form, change)
            try:
                services.change_role(actor=request.user, user=obj, role=new_role,
                                     ip=client_ip(request))
            except ServiceError as error:
                self.message_user(request, error.message, level=messages.ERROR)
            return
        super().save_model(request, obj, form, change)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "created_at", "last_used_at"]
    search_fields = ["user__email", "prefix"]
    readonly_fields = ["user", "prefix", "created_at", "last_used_at"]
    exclude = ["key_hash"]

    def get_queryset(self, request):
        return ApiToken.objects.visible_to(request.user).select_related("user")

    def has_add_permission(self, request):
        return False


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(PermissionAuditMixin, DjangoGroupAdmin):
    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.name in Role.values:
            return False  # the role groups are part of the system
        return super().has_delete_permission(request, obj)
