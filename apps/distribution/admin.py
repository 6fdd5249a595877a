"""Distribution in the Django admin. Tiers and referrals are the super admin's (unless granted);
admins generate and revoke codes and look after the distributors they own. Every page and
action asks the policy; changes go through the services."""

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext_lazy as _

from apps.accounts import policy
from apps.accounts.models import Role, User
from derpmgr.admin_mixins import PolicyAdminMixin, ReadOnlyAdmin, render_form_page
from derpmgr.errors import ServiceError, show_on_form
from derpmgr.net import client_ip

from . import services
from .forms import AdminGenerateCodesForm, NewDistributorForm
from .models import ActivationCode, DistributorProfile, DistributorTier, Referral

SET_TIER = services.SET_TIER


@admin.register(DistributorTier)
class DistributorTierAdmin(PolicyAdminMixin, admin.ModelAdmin):
    list_display = ["tier_name", "discount_percent", "commission_percent", "rank"]

    def has_delete_permission(self, request, obj=None):
        return self.may(request, "delete", obj) and (obj is None or not obj.distributors.exists())

    @admin.display(description=_("name"), ordering="rank")
    def tier_name(self, tier):
        return tier.name  # in the reader's language; both are edited on the tier's page


@admin.register(DistributorProfile)
class DistributorProfileAdmin(PolicyAdminMixin, admin.ModelAdmin):
    """An admin places distributors under themselves; only a super admin moves one to another
    admin."""

    list_display = ["user", "tier", "owner", "created_at"]
    list_filter = ["tier"]
    search_fields = ["user__email", "owner__email"]

    def get_queryset(self, request):
        return DistributorProfile.objects.visible_to(request.user).select_related("user", "tier",
                                                                                  "owner")

    def get_readonly_fields(self, request, obj=None):
        fixed = ["user"] if obj is not None else []  # a profile belongs to one distributor for good
        if obj is not None and not policy.can(request.user, SET_TIER):
            fixed.append("tier")  # a tier is a price: raising one is the super admin's
        return fixed if policy.can(request.user, policy.SUPERADMIN) else [*fixed, "owner"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.visible_to(request.user).filter(
                role=Role.DISTRIBUTOR, distributor_profile__isnull=True)
        if db_field.name == "tier" and not policy.can(request.user, SET_TIER):
            # A new distributor starts on the first tier; a super admin moves them up.
            kwargs["queryset"] = services.first_tiers()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    change_list_template = "admin/distribution/distributorprofile/change_list.html"

    def get_urls(self):
        new = path("new/", self.admin_site.admin_view(self.new_distributor_view),
                   name="distribution_distributorprofile_new")
        return [new, *super().get_urls()]

    def new_distributor_view(self, request):
        """"New distributor" in one form: the account, its tier and owner, and the invitation
        to choose a password, made by the service. (Adding a profile to an account that has the
        distributor role already stays Django's add form.)"""
        policy.require_page(request.user, "distribution.add_distributorprofile")
        superadmin = policy.can(request.user, policy.SUPERADMIN)
        form = NewDistributorForm(
            request.POST if request.method == "POST" else None,
            tiers=(DistributorTier.objects.all() if policy.can(request.user, SET_TIER)
                   else services.first_tiers()),
            owners=(User.objects.filter(role__in=[Role.ADMIN, Role.SUPERADMIN], is_active=True)
                    if superadmin else None))
        status = None
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            try:
                services.create_distributor(
                    actor=request.user, email=data["email"], username=data["username"],
                    tier=data["tier"], owner=data.get("owner"), ip=client_ip(request))
            except ServiceError as error:
                show_on_form(form, error)
                status = error.status
            else:
                messages.success(request, _("%(email)s is a distributor now; an invitation to "
                                            "choose a password was sent.")
                                 % {"email": data["email"]})
                return redirect("admin:distribution_distributorprofile_changelist")
        response = render_form_page(self, request, form=form, title=_("New distributor"),
                                    button=_("Create and invite"))
        if status:
            response.status_code = status
        return response

    def save_model(self, request, obj, form, change):
        if not policy.can(request.user, policy.SUPERADMIN):
            obj.owner = request.user
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ActivationCode)
class ActivationCodeAdmin(PolicyAdminMixin, admin.ModelAdmin):
    list_display = ["code_display", "plan", "status", "paid", "created_by", "user", "created_at",
                    "expires_at", "used_at"]
    list_filter = ["status", "paid", "plan"]
    search_fields = ["code", "user__email", "created_by__email"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in ActivationCode._meta.fields]
    actions = ["revoke"]
    change_list_template = "admin/distribution/activationcode/change_list.html"

    @admin.display(description=_("code"), ordering="code")
    def code_display(self, code):
        return code.display

    def get_queryset(self, request):
        return ActivationCode.objects.visible_to(request.user).select_related(
            "plan", "created_by", "user")

    def get_search_results(self, request, queryset, search_term):
        # People paste codes with dashes; stored codes have none.
        return super().get_search_results(request, queryset, search_term.replace("-", "").upper()
                                          if len(search_term) >= 5 and "@" not in search_term
                                          else search_term)

    def has_add_permission(self, request):
        return False  # codes come in batches: "Generate codes"

    def has_change_permission(self, request, obj=None):
        return False  # fields stay as made; revoking is an action

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return self.may(request, "change")

    @admin.action(description=_("Revoke the selected unused codes"), permissions=["revoke"])
    def revoke(self, request, queryset):
        try:
            count = services.revoke(actor=request.user, code_ids=list(queryset.values_list("pk", flat=True)),
                                    ip=client_ip(request))
        except ServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, _("%(n)d code(s) revoked.") % {"n": count})

    def get_urls(self):
        generate = path("generate/", self.admin_site.admin_view(self.generate_view),
                        name="distribution_activationcode_generate")
        return [generate, *super().get_urls()]

    def generate_view(self, request):
        policy.require_page(request.user, "distribution.add_activationcode")
        form = AdminGenerateCodesForm(request.POST or None)
        form.fields.pop("pay_with_balance")  # a distributor's choice; operators issue codes
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                batch, _order = services.generate_codes(
                    actor=request.user, plan=services.plan_for_duration(data["duration_days"]),
                    quantity=data["quantity"], server_ids=data["server_ids"], paid=data["paid"],
                    valid_days=data.get("valid_days"), ip=client_ip(request))
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("%(n)d code(s) generated.") % {"n": len(batch)})
                return redirect("admin:distribution_activationcode_changelist")
        return render_form_page(self, request, form=form, title=_("Generate codes"),
                                button=_("Generate"))


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin, PolicyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "distributor", "created_at"]
    search_fields = ["user__email", "distributor__email"]
    readonly_fields = ["user", "distributor", "code", "created_at"]
