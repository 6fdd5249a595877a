"""Billing in the Django admin. Plans, coupons, balances and commission are finance (the super
admin's, or an admin's a super admin granted them to); admins see customers' orders and mark
their progress. Every page and action asks the policy; every change goes through a service."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext_lazy as _

from apps.accounts import policy
from apps.accounts.models import STAFF_ROLES, User
from derpmgr.admin_mixins import (
    PolicyAdminMixin,
    ReadOnlyAdmin,
    YuanFieldsMixin,
    confirm_action,
    render_form_page,
    yuan_column,
)
from derpmgr.errors import ServiceError
from derpmgr.money import YuanField
from derpmgr.net import client_ip

from . import services
from .models import (
    Commission,
    CommissionSettlement,
    CommissionStatus,
    Coupon,
    CouponKind,
    LedgerEntry,
    Order,
    OrderStatus,
    Plan,
    SettlementMethod,
    Wallet,
    format_fen,
)


class ReferenceForm(forms.Form):
    """The one question an intermediate action page asks: the payment or payout reference."""

    reference = forms.CharField(label=_("Reference"), max_length=128, required=False,
                                help_text=_("Transfer number, receipt or ticket."))


def confirm_with_reference(modeladmin, request, queryset, *, title, apply, button):
    """Render the confirmation page of an action; on its submission, call `apply(reference)`."""
    form = ReferenceForm(request.POST if "apply" in request.POST else None)
    page = confirm_action(modeladmin, request, queryset, title=title, button=button, form=form,
                          question=_("These will be changed:"))
    if page is None:
        apply(form.cleaned_data["reference"])
    return page


@admin.register(Plan)
class PlanAdmin(YuanFieldsMixin, PolicyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "duration_days", "price", "servers_per_rental", "max_devices", "active"]
    list_editable = ["active"]
    price = yuan_column(Plan, "price_fen")

    # Admins look the plans up (they issue codes for them: billing.view_plan); editing them is
    # finance.
    def has_delete_permission(self, request, obj=None):
        return False  # orders and codes keep pointing at their plan; take it off sale instead


def _mark(status):
    def action(modeladmin, request, queryset):
        def apply(reference):
            done = 0
            for order in queryset:
                try:
                    services.mark_order(actor=request.user, order=order, status=status,
                                        reference=reference, ip=client_ip(request))
                    done += 1
                except ServiceError as error:
                    modeladmin.message_user(request, f"{order.number}: {error.message}", messages.ERROR)
            if done:
                modeladmin.message_user(request, _("%(n)d order(s) marked.") % {"n": done})

        return confirm_with_reference(
            modeladmin, request, queryset, apply=apply, button=OrderStatus(status).label,
            title=_("Mark orders as %(status)s") % {"status": OrderStatus(status).label})

    action.__name__ = f"mark_{status}"
    action.short_description = _("Mark as %(status)s") % {"status": OrderStatus(status).label}
    action.allowed_permissions = ("refund",) if status == OrderStatus.REFUNDED else ("mark",)
    return action


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin, PolicyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "buyer", "kind", "status", "plan", "quantity", "amount",
                    "payment_reference", "created_at", "completed_at"]
    fields = ["number", "buyer", "kind", "status", "plan", "quantity", "list_price", "discount",
              "coupon", "coupon_discount", "amount", "paid_from_balance", "payment_reference",
              "created_at", "completed_at", "updated_at"]
    readonly_fields = fields
    list_filter = ["status", "kind"]
    search_fields = ["number", "buyer__email", "payment_reference"]
    date_hierarchy = "created_at"
    actions = [_mark(s) for s in (OrderStatus.COMPLETED, OrderStatus.RENEWED,
                                  OrderStatus.CANCELLED, OrderStatus.REFUNDED)]

    list_price = yuan_column(Order, "list_price_fen")
    discount = yuan_column(Order, "discount_fen")
    coupon_discount = yuan_column(Order, "coupon_discount_fen")
    amount = yuan_column(Order, "amount_fen")

    def get_queryset(self, request):
        return Order.objects.visible_to(request.user).select_related("buyer", "plan")

    # Admins keep customers' orders (seed 5.3) though billing is otherwise finance. Every field
    # stays read-only; the marks are actions.
    def has_view_permission(self, request, obj=None):
        return self.may(request, "view", obj)

    def has_mark_permission(self, request):
        return self.may(request, "change")

    def has_refund_permission(self, request):
        return self.may(request, "refund_order")


class CouponForm(forms.ModelForm):
    """The discount is typed as what it is: a percentage, or an amount in yuan (kept in fen)."""

    percent_off = forms.IntegerField(label=_("Percent off"), required=False, min_value=1,
                                     help_text=_("For a percent coupon: 1 to 100."))
    amount_off = YuanField(label=_("Amount off"), required=False, max_fen=services.MAX_TOP_UP_FEN,
                           help_text=_("For a fixed coupon, in yuan: 5 takes ¥5.00 off."))

    class Meta:
        model = Coupon
        fields = ["code", "kind", "percent_off", "amount_off", "valid_from", "valid_until",
                  "max_uses", "plans", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            wanted = "percent_off" if self.instance.kind == CouponKind.PERCENT else "amount_off"
            self.initial[wanted] = self.instance.value

    def clean(self):
        data = super().clean()
        wanted = "percent_off" if data.get("kind") == CouponKind.PERCENT else "amount_off"
        if data.get("kind") == CouponKind.PERCENT and (data.get("percent_off") or 0) > 100:
            self.add_error("percent_off", _("A percent coupon takes at most 100 percent off."))
        elif data.get("kind") and not data.get(wanted) and wanted not in self.errors:
            self.add_error(wanted, _("Say how much this coupon takes off."))
        self.instance.value = data.get(wanted) or 0
        if data.get("valid_from") and data.get("valid_until") \
                and data["valid_until"] <= data["valid_from"]:
            self.add_error("valid_until", _("The coupon must end after it starts."))
        if self.instance.pk and data.get("max_uses") is not None \
                and data["max_uses"] < self.instance.used_count:
            self.add_error("max_uses", _("It has been used %(n)d times already.")
                           % {"n": self.instance.used_count})
        return data


@admin.register(Coupon)
class CouponAdmin(PolicyAdminMixin, admin.ModelAdmin):
    form = CouponForm
    list_display = ["code", "kind", "discount", "valid_from", "valid_until", "used_count",
                    "max_uses", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code"]
    filter_horizontal = ["plans"]

    @admin.display(description=_("discount"), ordering="value")
    def discount(self, coupon):
        return f"{coupon.value}%" if coupon.kind == CouponKind.PERCENT else format_fen(coupon.value)

    def has_delete_permission(self, request, obj=None):
        return self.may(request, "delete", obj) and (obj is None or not obj.redemptions.exists())


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    fields = ["created_at", "kind", "amount", "balance_after", "order", "reference", "created_by"]
    readonly_fields = fields
    amount = yuan_column(LedgerEntry, "amount_fen")
    balance_after = yuan_column(LedgerEntry, "balance_after_fen")
    extra = 0
    can_delete = False
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TopUpForm(forms.Form):
    """Whose balance (searched by e-mail or username as it is typed: never a list of every
    account), how much in yuan, and the payment's reference."""

    user = forms.ModelChoiceField(label=_("Whose balance"), queryset=User.objects.filter(
        is_active=True).exclude(role__in=STAFF_ROLES))
    amount = YuanField(label=_("Amount"), max_fen=services.MAX_TOP_UP_FEN,
                       help_text=_("In yuan: 100 or 100.00 books ¥100.00."))
    reference = forms.CharField(label=_("Payment reference"), max_length=128)

    def __init__(self, *args, admin_site, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.fields["user"]
        user.queryset = user.queryset.filter(pk__in=User.objects.visible_to(viewer).values("pk"))
        user.widget = AutocompleteSelect(Wallet._meta.get_field("owner"), admin_site)
        user.widget.choices = user.choices


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin, PolicyAdminMixin, admin.ModelAdmin):
    list_display = ["owner", "balance"]
    search_fields = ["owner__email"]
    inlines = [LedgerEntryInline]
    change_list_template = "admin/billing/wallet/change_list.html"

    fields = ["owner", "balance"]
    readonly_fields = fields
    balance = yuan_column(Wallet, "balance_fen")

    def get_urls(self):
        top_up = path("top-up/", self.admin_site.admin_view(self.top_up_view),
                      name="billing_wallet_top_up")
        return [top_up, *super().get_urls()]

    def top_up_view(self, request):
        """Record money received for someone's prepaid balance (with its payment reference)."""
        policy.require_page(request.user, "billing.top_up_wallet")
        chosen = request.GET.get("user", "")  # the ops customer page links here with ?user=<id>
        form = TopUpForm(request.POST or None, initial={"user": chosen if chosen.isdigit() else None},
                         admin_site=self.admin_site, viewer=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.top_up(actor=request.user, user=data["user"], amount_fen=data["amount"],
                                reference=data["reference"], ip=client_ip(request))
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("%(who)s: %(amount)s added to the balance.") % {
                    "who": data["user"], "amount": format_fen(data["amount"])})
                return redirect("admin:billing_wallet_changelist")
        return render_form_page(self, request, form=form, title=_("Top up a balance"),
                                button=_("Top up"))


@admin.register(Commission)
class CommissionAdmin(ReadOnlyAdmin, PolicyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "distributor", "order", "percent", "amount", "status"]
    list_filter = ["status"]
    search_fields = ["distributor__email", "order__number"]
    actions = ["settle_credit", "settle_payout"]

    fields = ["created_at", "distributor", "order", "percent", "amount", "status", "settlement"]
    readonly_fields = fields
    amount = yuan_column(Commission, "amount_fen")

    def has_settle_permission(self, request):
        return policy.can(request.user, "billing.add_commissionsettlement")

    def _settle(self, request, queryset, method, reference):
        distributors = User.objects.filter(
            pk__in=queryset.filter(status=CommissionStatus.ACCRUED).values("distributor"))
        if not distributors:
            self.message_user(request, _("Nothing to settle: no accrued commission selected."),
                              messages.WARNING)
        for distributor in distributors:
            try:
                settlement = services.settle_commission(
                    actor=request.user, distributor=distributor, method=method,
                    reference=reference, ip=client_ip(request))
            except ServiceError as error:
                self.message_user(request, f"{distributor}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, _("%(who)s: %(amount)s settled.") % {
                    "who": distributor, "amount": format_fen(settlement.amount_fen)})

    @admin.action(description=_("Settle the distributors' accrued commission to their balance"),
                  permissions=["settle"])
    def settle_credit(self, request, queryset):
        self._settle(request, queryset, SettlementMethod.CREDIT, "")

    @admin.action(description=_("Settle the distributors' accrued commission as paid out"),
                  permissions=["settle"])
    def settle_payout(self, request, queryset):
        return confirm_with_reference(
            self, request, queryset, title=_("Pay out accrued commission"), button=_("Paid out"),
            apply=lambda reference: self._settle(request, queryset, SettlementMethod.PAYOUT,
                                                 reference))


@admin.register(CommissionSettlement)
class CommissionSettlementAdmin(ReadOnlyAdmin, PolicyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "distributor", "amount", "method", "reference", "settled_by"]
    list_filter = ["method"]
    search_fields = ["distributor__email", "reference"]

    fields = ["created_at", "distributor", "amount", "method", "reference", "settled_by"]
    readonly_fields = fields
    amount = yuan_column(CommissionSettlement, "amount_fen")

