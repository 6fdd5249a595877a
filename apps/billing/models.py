"""Plans, orders, prepaid balances, coupons and distributor commission. Money is integer fen."""

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Role
from derpmgr.money import format_fen


def percent_of(amount_fen: int, percent: int) -> int:
    """`percent`% of an amount, rounded half up to whole fen (integers only, no floats)."""
    return (amount_fen * percent + 50) // 100


class PlanQuerySet(models.QuerySet):
    def visible_to(self, viewer):
        if viewer.is_authenticated and viewer.role == Role.SUPERADMIN:
            return self
        return self.filter(active=True)

    def for_duration(self, days: int):
        return self.filter(active=True, duration_days=days).order_by("pk").first()


class Plan(models.Model):
    """A rental package: so many days on so many servers for so many devices."""

    name = models.CharField(_("name"), max_length=64)
    duration_days = models.PositiveIntegerField(_("duration (days)"),
                                                validators=[MinValueValidator(1)])
    price_fen = models.PositiveIntegerField(_("price"))
    servers_per_rental = models.PositiveSmallIntegerField(
        _("servers per rental"), default=3, validators=[MinValueValidator(1)])
    max_devices = models.PositiveSmallIntegerField(_("max devices"), default=10,
                                                   validators=[MinValueValidator(1)])
    active = models.BooleanField(_("on sale"), default=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["duration_days"]

    def __str__(self):
        return f"{self.name} ({format_fen(self.price_fen)})"

    @property
    def price_display(self) -> str:
        return format_fen(self.price_fen)


class OrderKind(models.TextChoices):
    CODE_BATCH = "code_batch", _("Code batch")
    PURCHASE = "purchase", _("Purchase")
    RENEWAL = "renewal", _("Renewal")
    TOP_UP = "top_up", _("Top-up")


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    COMPLETED = "completed", _("Completed")
    RENEWED = "renewed", _("Renewed")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


# Orders whose money the business has earned (top-ups are prepaid cash, earned when spent).
EARNING_KINDS = (OrderKind.CODE_BATCH, OrderKind.PURCHASE, OrderKind.RENEWAL)
EARNED_STATUSES = (OrderStatus.COMPLETED, OrderStatus.RENEWED)

# Which marks an operator may put on an order in which status.
ORDER_TRANSITIONS: dict[str, set[str]] = {
    OrderStatus.PENDING: {OrderStatus.COMPLETED, OrderStatus.CANCELLED},
    OrderStatus.COMPLETED: {OrderStatus.RENEWED, OrderStatus.REFUNDED},
    OrderStatus.RENEWED: {OrderStatus.REFUNDED},
    OrderStatus.CANCELLED: set(),
    OrderStatus.REFUNDED: set(),
}


class OrderQuerySet(models.QuerySet):
    def visible_to(self, viewer):
        if not viewer.is_authenticated or not viewer.is_active:
            return self.none()
        if viewer.role == Role.SUPERADMIN:
            return self
        if viewer.role == Role.ADMIN:
            # Admins keep customers' order history (seed 5.3); distributors' purchases and
            # top-ups are finance, which is the super admin's.
            return self.filter(buyer__role=Role.USER).exclude(kind=OrderKind.TOP_UP)
        return self.filter(buyer=viewer)

    def earned(self):
        return self.filter(kind__in=EARNING_KINDS, status__in=EARNED_STATUSES)


def new_order_number() -> str:
    return timezone.now().strftime("%Y%m%d") + "-" + secrets.token_hex(4).upper()


class Order(models.Model):
    number = models.CharField(_("number"), max_length=24, unique=True, default=new_order_number,
                              editable=False)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="orders", verbose_name=_("buyer"))
    kind = models.CharField(_("kind"), max_length=16, choices=OrderKind.choices)
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices,
                              default=OrderStatus.PENDING, db_index=True)
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="orders", verbose_name=_("plan"))
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    list_price_fen = models.PositiveIntegerField(_("list price"), default=0)
    discount_fen = models.PositiveIntegerField(_("tier discount"), default=0)
    coupon = models.ForeignKey("Coupon", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="orders", verbose_name=_("coupon"))
    coupon_discount_fen = models.PositiveIntegerField(_("coupon discount"), default=0)
    amount_fen = models.PositiveIntegerField(_("amount"))
    paid_from_balance = models.BooleanField(_("paid from balance"), default=False)
    payment_reference = models.CharField(_("payment reference"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # The review a page purchase was confirmed from: the same confirmation sent twice (a double
    # click, a resent form) finds this order instead of buying again. Empty for the API's.
    request_key = models.CharField(_("request key"), max_length=32, blank=True, default="",
                                   editable=False)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        # Finance (never the admin role's; a super admin may grant one to one admin).
        permissions = [
            ("view_finance", _("Can see the finance statistics")),
            ("refund_order", _("Can refund an order")),
            ("confirm_batch_payment", _("Can confirm the payment of a distributor's code batch")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_fen=models.F("list_price_fen") - models.F("discount_fen")
                            - models.F("coupon_discount_fen")),
                name="billing_order_amount_adds_up"),
            models.UniqueConstraint(fields=["buyer", "request_key"], condition=~Q(request_key=""),
                                    name="billing_order_one_per_request_key"),
        ]
        # One buyer's orders newest first (the customer's and the portal's order lists, /api/orders).
        indexes = [models.Index(fields=["buyer", "-created_at", "-id"], name="billing_order_buyer_new")]

    def __str__(self):
        return f"{self.number} {self.get_kind_display()} {format_fen(self.amount_fen)}"

    @property
    def amount_display(self) -> str:
        return format_fen(self.amount_fen)

    def can_become(self, status: str) -> bool:
        return status in ORDER_TRANSITIONS.get(self.status, set())


class Wallet(models.Model):
    """A prepaid balance. The row is the lock; the ledger below is the record."""

    # Customers and distributors hold balances (the admin's top-up picker searches these).
    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="wallet", verbose_name=_("owner"),
                                 limit_choices_to={"is_active": True,
                                                   "role__in": ["user", "distributor"]})
    balance_fen = models.BigIntegerField(_("balance"), default=0)

    class Meta:
        verbose_name = _("balance")
        verbose_name_plural = _("balances")
        permissions = [("top_up_wallet", _("Can top up a prepaid balance"))]
        constraints = [models.CheckConstraint(condition=Q(balance_fen__gte=0),
                                              name="billing_wallet_never_negative")]

    def __str__(self):
        return f"{self.owner}: {format_fen(self.balance_fen)}"


class LedgerKind(models.TextChoices):
    TOP_UP = "top_up", _("Top-up")
    PAYMENT = "payment", _("Payment")
    REFUND = "refund", _("Refund")
    COMMISSION = "commission", _("Commission credited")
    ADJUSTMENT = "adjustment", _("Adjustment")


class LedgerEntryQuerySet(models.QuerySet):
    def visible_to(self, viewer):
        if not viewer.is_authenticated:
            return self.none()
        if viewer.role == Role.SUPERADMIN:
            return self
        return self.filter(wallet__owner=viewer)


class LedgerEntry(models.Model):
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries",
                               verbose_name=_("balance"))
    kind = models.CharField(_("kind"), max_length=16, choices=LedgerKind.choices)
    amount_fen = models.BigIntegerField(_("amount"))
    balance_after_fen = models.BigIntegerField(_("balance after"))
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="ledger_entries", verbose_name=_("order"))
    reference = models.CharField(_("reference"), max_length=128, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("by"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance_after_fen__gte=0),
                                   name="billing_ledger_balance_after_never_negative"),
            models.CheckConstraint(condition=~Q(amount_fen=0), name="billing_ledger_amount_nonzero"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {format_fen(self.amount_fen)}"


class CouponKind(models.TextChoices):
    PERCENT = "percent", _("Percent off")
    FIXED = "fixed", _("Fixed amount off")


class CouponQuerySet(models.QuerySet):
    def visible_to(self, viewer):
        if viewer.is_authenticated and viewer.role == Role.SUPERADMIN:
            return self
        return self.none()


class Coupon(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True,
                            help_text=_("Letters and digits; customers type it in any case."))
    kind = models.CharField(_("kind"), max_length=8, choices=CouponKind.choices)
    value = models.PositiveIntegerField(
        _("value"), validators=[MinValueValidator(1)],
        help_text=_("Percent (1–100) off for a percent coupon; the amount off (kept in fen) for a "
                    "fixed one."))
    valid_from = models.DateTimeField(_("valid from"), default=timezone.now)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    max_uses = models.PositiveIntegerField(_("max uses"), null=True, blank=True,
                                           help_text=_("Empty: no limit."))
    used_count = models.PositiveIntegerField(_("used"), default=0, editable=False)
    plans = models.ManyToManyField(Plan, blank=True, related_name="coupons",
                                   verbose_name=_("only for plans"),
                                   help_text=_("Empty: every plan."))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    objects = CouponQuerySet.as_manager()

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(kind="fixed") | Q(value__lte=100),
                                   name="billing_coupon_percent_at_most_100"),
            models.CheckConstraint(condition=Q(max_uses__isnull=True)
                                   | Q(used_count__lte=models.F("max_uses")),
                                   name="billing_coupon_uses_within_max"),
        ]

    def __str__(self):
        return self.code

    def save(self, *args, **kwargs):
        self.code = self.code.strip().upper()
        super().save(*args, **kwargs)

    def discount_on(self, amount_fen: int) -> int:
        if self.kind == CouponKind.PERCENT:
            return min(amount_fen, percent_of(amount_fen, self.value))
        return min(amount_fen, self.value)


class CouponRedemption(models.Model):
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions",
                               verbose_name=_("coupon"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("customer"))
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="coupon_redemption",
                                 verbose_name=_("order"))
    created_at = models.DateTimeField(_("redeemed at"), default=timezone.now)

    class Meta:
        verbose_name = _("coupon redemption")
        verbose_name_plural = _("coupon redemptions")
        constraints = [models.UniqueConstraint(fields=["coupon", "user"],
                                               name="billing_coupon_once_per_user")]

    def __str__(self):
        return f"{self.coupon} → {self.user}"


class CommissionStatus(models.TextChoices):
    ACCRUED = "accrued", _("Accrued")
    SETTLED = "settled", _("Settled")


class SettlementMethod(models.TextChoices):
    CREDIT = "credit", _("Credited to balance")
    PAYOUT = "payout", _("Paid out")


class CommissionSettlement(models.Model):
    distributor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="commission_settlements",
                                    verbose_name=_("distributor"))
    amount_fen = models.PositiveIntegerField(_("amount"))
    method = models.CharField(_("method"), max_length=8, choices=SettlementMethod.choices)
    reference = models.CharField(_("reference"), max_length=128, blank=True)
    settled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("settled by"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("commission settlement")
        verbose_name_plural = _("commission settlements")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.distributor} {format_fen(self.amount_fen)}"


class CommissionQuerySet(models.QuerySet):
    def visible_to(self, viewer):
        if not viewer.is_authenticated:
            return self.none()
        if viewer.role == Role.SUPERADMIN:
            return self
        if viewer.role == Role.DISTRIBUTOR:
            return self.filter(distributor=viewer)
        return self.none()


class Commission(models.Model):
    """What a distributor earns when a customer they brought in buys or renews directly."""

    distributor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="commissions", verbose_name=_("distributor"))
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="commission",
                                 verbose_name=_("order"))
    percent = models.PositiveSmallIntegerField(_("percent"), validators=[MaxValueValidator(100)])
    amount_fen = models.PositiveIntegerField(_("amount"))
    status = models.CharField(_("status"), max_length=8, choices=CommissionStatus.choices,
                              default=CommissionStatus.ACCRUED, db_index=True)
    settlement = models.ForeignKey(CommissionSettlement, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="commissions")
    created_at = models.DateTimeField(_("accrued"), default=timezone.now)

    objects = CommissionQuerySet.as_manager()

    class Meta:
        verbose_name = _("commission")
        verbose_name_plural = _("commissions")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.distributor} {format_fen(self.amount_fen)} ({self.get_status_display()})"
