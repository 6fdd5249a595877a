"""Rentals in the Django admin: the rentals listed read-only, and the user list's actions that
move a rental (renew, suspend, resume) or delete an account, each through a verb of services.py
after a confirmation page, each asking the policy, each reporting what happened per user. The
user form shows the rental's state and end date read-only with links to these actions."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.accounts import policy
from apps.accounts.admin import UserAdmin
from apps.accounts.models import User
from derpmgr.admin_mixins import PolicyAdminMixin, ReadOnlyAdmin, confirm_action
from derpmgr.errors import ServiceError
from derpmgr.net import client_ip

from . import services
from .forms import RenewForm, SuspendForm
from .models import Rental
from .status import end_label

RENEW = "rentals.renew_rental"
SUSPEND = "rentals.suspend_rental"
DELETE = "accounts.delete_user"


def _customer_page(user: User) -> str:
    return format_html('<a href="{}">{}</a>', reverse("rentals:customer", args=[user.pk]),
                       _("Renew, suspend, resume or delete on the customer's page"))


@admin.register(Rental)
class RentalAdmin(ReadOnlyAdmin, PolicyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "state", "end", "servers", "relays_missing", "relays_settled",
                    "suspended_by_hand", "next_event_at"]
    list_filter = ["user__rental_state", "relays_settled", "suspended_by_hand"]
    search_fields = ["user__email", "user__username"]
    list_select_related = ["user"]
    fields = ["user", "state", "end", "actions_link", "period", "period_started_at",
              "next_event_at", "servers", "pinned_server_ids", "suspended_at", "suspended_by_hand",
              "suspension_reason", "deregistered_at", "relays_settled", "relays_missing",
              "relays_note", "version", "updated_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (Rental.objects.filter(user__in=User.objects.visible_to(request.user))
                .select_related("user"))

    @admin.display(description=_("state"), ordering="user__rental_state")
    def state(self, rental):
        return rental.user.get_rental_state_display()

    @admin.display(description=_("ends"), ordering="user__rental_expiry")
    def end(self, rental):
        return end_label(rental.user)

    @admin.display(description=_("actions"))
    def actions_link(self, rental):
        return _customer_page(rental.user)


def _with_rental_links(fieldsets):
    return [(name, {**options, "fields": [*options["fields"], "rental_actions"]})
            if "rental_state" in options["fields"] else (name, options)
            for name, options in fieldsets]


class RentalUserAdmin(UserAdmin):
    """The account admin with the rental's actions."""

    base_fieldsets = _with_rental_links(UserAdmin.base_fieldsets)
    readonly_fields = [*UserAdmin.readonly_fields, "rental_actions"]
    actions = [*UserAdmin.actions, "renew", "suspend", "resume", "delete_accounts"]

    @admin.display(description=_("Rental actions"))
    def rental_actions(self, user):
        return _customer_page(user)

    def save_model(self, request, obj, form, change):
        if not (change and "is_active" in form.changed_data):
            return super().save_model(request, obj, form, change)
        active, obj.is_active = obj.is_active, form.initial["is_active"]  # the verb decides
        super().save_model(request, obj, form, change)
        try:
            services.set_account_active(actor=request.user, user=obj, active=active,
                                        ip=client_ip(request))  # the relays follow
        except ServiceError as error:
            self.message_user(request, error.message, level=messages.ERROR)
        return None

    # --- Who may do what: the policy ---

    def has_renew_permission(self, request):
        return policy.can(request.user, RENEW)

    def has_suspend_permission(self, request):
        return policy.can(request.user, SUSPEND)

    def has_delete_account_permission(self, request):
        return policy.can(request.user, DELETE)

    # --- Actions: one verb per selected user, each outcome reported ---

    def _each(self, request, queryset, action: str, verb, done) -> None:
        for user in queryset:
            if not policy.can(request.user, action, user):
                self.message_user(request, f"{user}: {policy.NOT_GRANTED}", messages.ERROR)
                continue
            try:
                verb(user)
            except ServiceError as error:
                self.message_user(request, f"{user}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{user}: {done(user)}", messages.SUCCESS)

    @admin.action(description=_("Renew…"), permissions=["renew"])
    def renew(self, request, queryset):
        form = RenewForm(request.POST if "apply" in request.POST else None)
        page = confirm_action(self, request, queryset, title=_("Renew rentals"), form=form,
                              question=_("Renew these rentals to an end date, or add days or a "
                                         "plan's days:"), button=_("Renew"))
        if page is not None:
            return page
        self._each(request, queryset, RENEW, lambda user: services.renew(
            user=user, actor=request.user, ip=client_ip(request), **form.renewal()),
            lambda user: _("renewed until %(end)s.") % {"end": end_label(user)})
        return None

    @admin.action(description=_("Suspend…"), permissions=["suspend"])
    def suspend(self, request, queryset):
        form = SuspendForm(request.POST if "apply" in request.POST else None)
        page = confirm_action(self, request, queryset, title=_("Suspend rentals"), form=form,
                              question=_("Suspend these rentals? Their relays stop (ports kept) "
                                         "and the customers see the reason."),
                              button=_("Suspend"))
        if page is not None:
            return page
        self._each(request, queryset, SUSPEND, lambda user: services.suspend(
            user=user, actor=request.user, reason=form.cleaned_data["reason"],
            ip=client_ip(request)), lambda user: _("suspended."))
        return None

    @admin.action(description=_("Resume"), permissions=["suspend"])
    def resume(self, request, queryset):
        self._each(request, queryset, SUSPEND, lambda user: services.resume(
            user=user, actor=request.user, ip=client_ip(request)),
            lambda user: _("resumed (%(state)s).") % {"state": user.get_rental_state_display()})

    @admin.action(description=_("Delete account…"), permissions=["delete_account"])
    def delete_accounts(self, request, queryset):
        page = confirm_action(self, request, queryset, title=_("Delete accounts"),
                              question=_("Delete these accounts? Their derpMaps are destroyed, "
                                         "their relays removed and the accounts anonymised; "
                                         "orders, ledger and audit stay. An account whose "
                                         "finance is unsettled is refused, with what is open."),
                              button=_("Delete"))
        if page is not None:
            return page
        self._each(request, queryset, DELETE, lambda user: services.delete_user(
            actor=request.user, user=user, ip=client_ip(request)), lambda user: _("deleted."))
        return None


admin.site.unregister(User)
admin.site.register(User, RentalUserAdmin)
