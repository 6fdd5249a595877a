from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from derpmgr.admin_mixins import PolicyAdminMixin
from derpmgr.errors import ServiceError
from derpmgr.net import client_ip

from . import policy, services
from .models import ApiToken, Role, User
from .permission_names import NamedPermissionPickers, group_label, permission_label
from .roles import forbidden_for_admin_role


class SuperAdminOnly:
    """The super admin's alone, whatever model permissions an admin was granted (policy's
    SUPERADMIN gate): an admin who could edit roles could grant their own role anything, and one
    who could add a device to another account could pass its OTP step."""

    def has_module_permission(self, request):
        return policy.can(request.user, policy.SUPERADMIN)

    def has_view_permission(self, request, obj=None):
        return policy.can(request.user, policy.SUPERADMIN)

    def has_add_permission(self, request, *args):
        return policy.can(request.user, policy.SUPERADMIN)

    def has_change_permission(self, request, obj=None):
        return policy.can(request.user, policy.SUPERADMIN)

    def has_delete_permission(self, request, obj=None):
        return policy.can(request.user, policy.SUPERADMIN)


class PermissionAuditMixin:
    """Grants and withdrawals made in the admin land in the audit log (same transaction)."""

    def held_permissions(self, obj) -> set[str]:
        raise NotImplementedError

    def save_related(self, request, form, formsets, change):
        obj = form.instance
        before = self.held_permissions(obj) if change else set()
        super().save_related(request, form, formsets, change)
        services.record_permission_change(actor=request.user, target=obj, before=before,
                                          after=self.held_permissions(obj), ip=client_ip(request))


class StaffPasswordForm(AdminPasswordChangeForm):
    # Django appends its warning to the translated help text as an English string: one message.
    usable_password_help_text = _("Whether the user will be able to sign in with a password. If "
                                  "disabled, their current password is lost.")


class InviteForm(forms.ModelForm):
    """Adding an account in the admin: who it is for; they choose their password themselves,
    through the invitation e-mailed to them (which also verifies the address)."""

    class Meta:
        model = User
        fields = ["email", "username", "role"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "role" in self.fields:  # the super admin's form: a customer unless chosen otherwise
            self.fields["role"].required = False

    def clean_role(self):
        return self.cleaned_data.get("role") or Role.USER

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"].strip())
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this e-mail address exists."))
        return email


@admin.register(User)
class UserAdmin(NamedPermissionPickers, PermissionAuditMixin, PolicyAdminMixin, DjangoUserAdmin):
    change_password_form = StaffPasswordForm
    list_display = ["email", "username", "role", "email_verified", "rental_state",
                    "rental_expiry", "is_active", "created_at"]
    list_filter = ["role", "rental_state", "email_verified", "is_active"]
    search_fields = ["email", "username"]
    ordering = ["-created_at"]
    # The rental's state and end date change only through the rental's verbs (apps.rentals: the
    # actions on the list and the ops customer page), never by editing the fields.
    readonly_fields = ["created_at", "last_login", "rental_state", "rental_expiry", "relay_tasks"]
    add_form = InviteForm
    add_fieldsets = ((None, {"classes": ["wide"], "fields": ["email", "username"],
                             "description": _("The person gets an e-mail with a link to choose "
                                              "their password; following it also verifies their "
                                              "address.")}),)
    superadmin_add_fieldsets = ((None, {**add_fieldsets[0][1],
                                        "fields": ["email", "username", "role"]}),)
    actions = ["send_invitation"]
    base_fieldsets = [
        (None, {"fields": ["email", "username", "password"]}),
        (_("Account"), {"fields": ["is_active", "email_verified", "language"]}),
        (_("Rental"), {"fields": ["rental_state", "rental_expiry", "relay_tasks"]}),
        (_("Dates"), {"fields": ["last_login", "created_at"]}),
    ]
    superadmin_fieldsets = [
        (_("Role and permissions"), {"fields": ["role", "groups", "user_permissions"]}),
    ]

    @admin.display(description=_("Relay tasks"))
    def relay_tasks(self, user):
        """The work done on the servers for this customer (setting up, moving their relays)."""
        from django.urls import reverse
        from django.utils.html import format_html

        from apps.operations.models import Operation

        active = Operation.objects.about(customer=user).active().count()
        return format_html('<a href="{}?customer_id={}">{}</a>', reverse("operations:list"),
                           user.pk, ngettext("%(n)d task under way", "%(n)d tasks under way", active)
                           % {"n": active} if active else _("All tasks"))

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            if policy.can(request.user, policy.SUPERADMIN):  # staff and distributors too
                return self.superadmin_add_fieldsets
            return self.add_fieldsets
        if policy.can(request.user, policy.SUPERADMIN):  # roles and grants
            return self.base_fieldsets + self.superadmin_fieldsets
        return self.base_fieldsets

    def get_queryset(self, request):
        return User.objects.visible_to(request.user)

    def held_permissions(self, user) -> set[str]:
        # Joining a group grants its permissions, so memberships count as grants too; the role
        # group follows the role, whose changes are audited as such.
        groups = {f"group:{name}" for name in
                  user.groups.exclude(name__in=Role.values).values_list("name", flat=True)}
        return services.permission_labels(user.user_permissions) | groups

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The form saves the groups it was shown, which still hold the old role's group when
        # the role changed in the same form: the role decides, so put its group right.
        form.instance.sync_role_group()

    def has_delete_permission(self, request, obj=None):
        # Deleting an account settles finance and releases relays first: a service, not a cascade.
        return False

    def user_change_password(self, request, id, form_url=""):
        """Django's password form, then the service: the user's API tokens revoked (their
        sessions end with the old password's hash), audited in the same transaction."""
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:  # the form saved
                user = self.get_object(request, unquote(id))
                services.record_password_set_by_staff(actor=request.user, user=user,
                                                      ip=client_ip(request))
        return response

    def has_invite_permission(self, request):
        return self.may(request, "change")

    @admin.action(description=_("Send the invitation again"), permissions=["invite"])
    def send_invitation(self, request, queryset):
        sent = 0
        for user in queryset.filter(password__startswith=UNUSABLE_PASSWORD_PREFIX):
            try:
                services.invite(actor=request.user, user=user, ip=client_ip(request))
            except ServiceError as error:
                self.message_user(request, error.message, level=messages.ERROR)
            else:
                sent += 1
        self.message_user(request, ngettext("%(n)d invitation sent.", "%(n)d invitations sent.",
                                            sent) % {"n": sent})

    def save_model(self, request, obj, form, change):
        if not change:  # a new account: no password until its owner chooses one
            obj.set_unusable_password()
            super().save_model(request, obj, form, change)
            services.invite(actor=request.user, user=obj, ip=client_ip(request))
            self.message_user(request, _("An invitation to choose a password was sent to "
                                         "%(email)s.") % {"email": obj.email})
            return
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
class ApiTokenAdmin(PolicyAdminMixin, admin.ModelAdmin):
    list_display = ["prefix", "user", "created_at", "last_used_at"]
    search_fields = ["user__email", "prefix"]
    readonly_fields = ["user", "prefix", "created_at", "last_used_at"]
    exclude = ["key_hash"]

    def get_queryset(self, request):
        return ApiToken.objects.visible_to(request.user).select_related("user")

    def has_add_permission(self, request):
        return False


admin.site.unregister(Group)


def _admin_role_group_form(base):
    """The admin role never holds settings or finance permissions (they would be stripped at the
    next migrate anyway): say so instead of accepting them. Grant them per person if needed."""

    class AdminRoleGroupForm(base):
        def clean_permissions(self):
            permissions = self.cleaned_data["permissions"]
            forbidden = list(forbidden_for_admin_role(permissions).select_related("content_type"))
            if forbidden:
                raise forms.ValidationError(
                    _("The admin role cannot hold system-settings or finance permissions (%(perms)s). "
                      "Grant them to one admin on their user page instead.")
                    % {"perms": ", ".join(sorted(permission_label(p) for p in forbidden))})
            return permissions

    return AdminRoleGroupForm


class _NamedGroup:
    """A group as the list's action checkbox labels it: its pk, and its name in words."""

    def __init__(self, group):
        self.pk, self.label = group.pk, group_label(group)

    def __str__(self):
        return self.label


@admin.register(Group)
class GroupAdmin(SuperAdminOnly, NamedPermissionPickers, PermissionAuditMixin, DjangoGroupAdmin):
    list_display = ["group_name"]

    @admin.display(description=_("name"), ordering="name")
    def group_name(self, group):
        return group_label(group)

    def action_checkbox(self, group):
        # Django labels the box with str(group), which for a role group is its code.
        return super().action_checkbox(_NamedGroup(group))

    def held_permissions(self, group) -> set[str]:
        return services.permission_labels(group.permissions)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None and obj.name == Role.ADMIN:
            form = _admin_role_group_form(form)
        return form

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and obj.name in Role.values:  # shown by the role's name, not its code
            return ["group_name" if field == "name" else field for field in fields]
        return fields

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.name in Role.values:
            return ["group_name"]  # the roles find their group by its stored name
        return super().get_readonly_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.name in Role.values:
            return False  # the role groups are part of the system
        return super().has_delete_permission(request, obj)


# The members' second factors (django-otp's models), for the super admin only.
admin.site.unregister([TOTPDevice, StaticDevice])


class SecondFactorAdmin(SuperAdminOnly, admin.ModelAdmin):
    """A member's authenticator app or backup codes: the super admin sees, renames, disables or
    deletes one (a lost phone). Enrolment is the member's own, on their MFA page: nobody adds a
    device here, and no secret is ever shown (django-otp's own admin shows the key and its QR)."""

    list_display = ["device_name", "owner", "is_confirmed", "created", "last_used"]
    search_fields = ["user__email", "user__username", "name"]
    fields = ["owner", "name", "confirmed", "created", "last_used"]
    readonly_fields = ["owner", "created", "last_used"]
    _labels = {"name": (_("name"), _("What the member calls it, e.g. their phone.")),
               "confirmed": (_("in use"), _("Only a device in use is asked for codes."))}

    def has_add_permission(self, request, *args):
        return False

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name in self._labels:
            field.label, field.help_text = self._labels[db_field.name]
        return field

    @admin.display(description=_("name"), ordering="name")
    def device_name(self, device):
        return device.name

    @admin.display(description=_("member"), ordering="user__email")
    def owner(self, device):
        return device.user.email

    @admin.display(description=_("in use"), boolean=True, ordering="confirmed")
    def is_confirmed(self, device):
        return device.confirmed

    @admin.display(description=_("added"), ordering="created_at")
    def created(self, device):
        return device.created_at

    @admin.display(description=_("last used"), ordering="last_used_at")
    def last_used(self, device):
        return device.last_used_at or "—"


admin.site.register(TOTPDevice, SecondFactorAdmin)
admin.site.register(StaticDevice, SecondFactorAdmin)
