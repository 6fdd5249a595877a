"""Balances, purchases, coupons, order marks and commission. Every verb is atomic and audited."""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts import policy
from apps.accounts.models import RentalState, User
from apps.audit import services as audit
from apps.rentals import services as rentals
from derpmgr.errors import Conflict, NotFound, PermissionDenied, ServiceError

from .models import (
    Commission,
    CommissionSettlement,
    CommissionStatus,
    Coupon,
    CouponRedemption,
    LedgerEntry,
    LedgerKind,
    Order,
    OrderKind,
    OrderStatus,
    Plan,
    SettlementMethod,
    Wallet,
    format_fen,
    percent_of,
)

MAX_TOP_UP_FEN = 100_000_000  # ¥1,000,000: anything above is a typo


class InsufficientBalance(ServiceError):
    status = 402
    code = "insufficient_balance"


class PriceChanged(Conflict):
    """The total is no longer the one the buyer reviewed (a plan's price, a tier, a coupon)."""

    code = "price_changed"


def check_reviewed_total(amount_fen: int, expected_amount_fen: int | None) -> None:
    """A page purchase is confirmed for the total its review showed; any other total is refused."""
    if expected_amount_fen is not None and amount_fen != expected_amount_fen:
        raise PriceChanged(_("The price changed since you reviewed it: the total is now %(now)s, "
                             "not %(reviewed)s. Nothing was charged; check the new total.")
                           % {"now": format_fen(amount_fen), "reviewed": format_fen(expected_amount_fen)})


def replayed_order(*, buyer: User, request_key: str) -> Order | None:
    """The order an earlier confirmation of the same review made, if any (call it with the
    buyer's row locked, so a concurrent twin waits for the first and then finds its order)."""
    if not request_key:
        return None
    return Order.objects.filter(buyer=buyer, request_key=request_key).first()


def _check_amount(amount_fen) -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ServiceError(_("The amount must be a positive whole number of fen."),
                           code="invalid_amount", fields={"amount_fen": [_("Positive integer.")]})
    if amount_fen > MAX_TOP_UP_FEN:
        raise ServiceError(_("The amount is implausibly large."), code="invalid_amount",
                           fields={"amount_fen": [_("Too large.")]})
    return amount_fen


# --- Balances --------------------------------------------------------------------------------

def balance_of(user: User) -> int:
    return Wallet.objects.filter(owner=user).values_list("balance_fen", flat=True).first() or 0


def _wallet_for(user: User) -> Wallet:
    wallet, _created = Wallet.objects.get_or_create(owner=user)
    return wallet


def post_entry(*, owner: User, amount_fen: int, kind: str, order: Order | None = None,
               reference: str = "", actor=None) -> LedgerEntry:
    """Move money in (positive) or out (negative) of a balance, inside the caller's transaction.

    The debit is one conditional UPDATE, so concurrent debits cannot take the balance below
    zero; the CHECK constraint on the wallet says the same at the database.
    """
    wallet = _wallet_for(owner)
    moved = Wallet.objects.filter(pk=wallet.pk, balance_fen__gte=max(0, -amount_fen)).update(
        balance_fen=F("balance_fen") + amount_fen)
    if not moved:
        raise InsufficientBalance(
            _("Your balance (%(balance)s) does not cover %(amount)s. Top up first.")
            % {"balance": format_fen(balance_of(owner)), "amount": format_fen(-amount_fen)})
    wallet.refresh_from_db(fields=["balance_fen"])
    return LedgerEntry.objects.create(wallet=wallet, kind=kind, amount_fen=amount_fen,
                                      balance_after_fen=wallet.balance_fen, order=order,
                                      reference=reference[:128],
                                      created_by=actor if actor and actor.is_authenticated else None)


def top_up(*, actor, user: User, amount_fen: int, reference: str, ip: str | None = None) -> Order:
    """A super admin (or an admin granted billing.top_up_wallet) records money received for a
    user's or distributor's prepaid balance."""
    policy.require(actor, "billing.top_up_wallet")
    _check_amount(amount_fen)
    if not reference.strip():
        raise ServiceError(_("Give the payment reference (transfer number, receipt)."),
                           code="reference_required", fields={"reference": [_("Required.")]})
    with transaction.atomic():
        order = Order.objects.create(buyer=user, kind=OrderKind.TOP_UP, status=OrderStatus.COMPLETED,
                                     list_price_fen=amount_fen, amount_fen=amount_fen,
                                     payment_reference=reference, completed_at=timezone.now())
        entry = post_entry(owner=user, amount_fen=amount_fen, kind=LedgerKind.TOP_UP, order=order,
                           reference=reference, actor=actor)
        audit.record(actor=actor, action="billing.topped_up", target=user, ip=ip,
                     details={"amount_fen": amount_fen, "order": order.number,
                              "balance_after_fen": entry.balance_after_fen})
    return order


# --- Coupons ---------------------------------------------------------------------------------

class CouponRefused(ServiceError):
    code = "coupon_invalid"


def find_coupon(code: str, *, user: User, plan: Plan) -> Coupon:
    """The coupon if it applies to this user and plan now, else CouponRefused saying why."""
    code = (code or "").strip().upper()
    coupon = Coupon.objects.filter(code=code).first() if code else None
    now = timezone.now()
    if coupon is None or not coupon.active:
        raise CouponRefused(_("There is no such coupon."), code="coupon_unknown")
    if coupon.valid_from > now:
        raise CouponRefused(_("This coupon is not valid yet."), code="coupon_not_yet_valid")
    if coupon.valid_until and coupon.valid_until <= now:
        raise CouponRefused(_("This coupon has expired."), code="coupon_expired")
    if coupon.max_uses is not None and coupon.used_count >= coupon.max_uses:
        raise CouponRefused(_("This coupon has been used up."), code="coupon_used_up")
    if coupon.plans.exists() and not coupon.plans.filter(pk=plan.pk).exists():
        raise CouponRefused(_("This coupon does not apply to this plan."), code="coupon_wrong_plan")
    if CouponRedemption.objects.filter(coupon=coupon, user=user).exists():
        raise CouponRefused(_("You have already used this coupon."), code="coupon_already_used")
    return coupon


def _redeem_coupon(coupon: Coupon, *, user: User, order: Order) -> None:
    """Count one use, race-free: a conditional increment and a unique (coupon, user) row."""
    limited = Coupon.objects.filter(pk=coupon.pk)
    if coupon.max_uses is not None:
        limited = limited.filter(used_count__lt=F("max_uses"))
    if not limited.update(used_count=F("used_count") + 1):
        raise CouponRefused(_("This coupon has been used up."), code="coupon_used_up")
    try:
        with transaction.atomic():
            CouponRedemption.objects.create(coupon=coupon, user=user, order=order)
    except IntegrityError as exc:
        raise CouponRefused(_("You have already used this coupon."),
                            code="coupon_already_used") from exc


# --- Purchases -------------------------------------------------------------------------------

def quote(*, user: User, plan: Plan, coupon_code: str = "") -> dict:
    """The price a customer would pay now, with the coupon's discount (or its refusal)."""
    coupon = find_coupon(coupon_code, user=user, plan=plan) if coupon_code else None
    coupon_discount = coupon.discount_on(plan.price_fen) if coupon else 0
    return {"plan": plan, "coupon": coupon, "list_price_fen": plan.price_fen,
            "coupon_discount_fen": coupon_discount, "amount_fen": plan.price_fen - coupon_discount}


def quote_purchase(*, user: User, plan: Plan, coupon_code: str = "") -> dict:
    """What buying `plan` would cost this customer now, refused as purchase_plan would refuse
    it (the page's review step shows this before anything is charged)."""
    _check_may_buy(user, plan)
    return quote(user=user, plan=plan, coupon_code=coupon_code)


def _check_may_buy(user: User, plan: Plan) -> None:
    if not policy.can(user, policy.CUSTOMER):
        raise PermissionDenied(_("Only customer accounts rent relays."), code="not_a_customer")
    if not user.email_verified:
        raise PermissionDenied(_("Verify your e-mail address first."), code="email_unverified")
    if not plan.active:
        raise NotFound(_("This plan is not on sale."), code="plan_unknown")


def purchase_plan(*, user: User, plan: Plan, coupon_code: str = "", ip: str | None = None,
                  expected_amount_fen: int | None = None, request_key: str = "") -> Order:
    """A customer buys or renews a plan from their balance, optionally with a coupon.

    A page confirms a reviewed purchase: `expected_amount_fen` is the total the review showed
    (PriceChanged if it is no longer the total) and `request_key` names that review, so sending
    the confirmation again returns the order it made instead of buying twice.
    """
    _check_may_buy(user, plan)
    with transaction.atomic():
        # The customer's row first: concurrent purchases of one customer queue here, so each
        # sees whether the one before made this a renewal (or already confirmed this review).
        renewal = User.objects.select_for_update().get(pk=user.pk).rental_state != RentalState.NONE
        earlier = replayed_order(buyer=user, request_key=request_key)
        if earlier is not None:
            return earlier
        priced = quote(user=user, plan=plan, coupon_code=coupon_code)
        check_reviewed_total(priced["amount_fen"], expected_amount_fen)
        order = Order.objects.create(
            buyer=user, kind=OrderKind.RENEWAL if renewal else OrderKind.PURCHASE,
            status=OrderStatus.COMPLETED, plan=plan, list_price_fen=priced["list_price_fen"],
            coupon=priced["coupon"], coupon_discount_fen=priced["coupon_discount_fen"],
            amount_fen=priced["amount_fen"], paid_from_balance=True, completed_at=timezone.now(),
            request_key=request_key)
        if priced["coupon"]:
            _redeem_coupon(priced["coupon"], user=user, order=order)
        if order.amount_fen:
            post_entry(owner=user, amount_fen=-order.amount_fen, kind=LedgerKind.PAYMENT,
                       order=order, actor=user)
        audit.record(actor=user, action="billing.plan_purchased", target=order, ip=ip,
                     details={"plan": plan.pk, "amount_fen": order.amount_fen,
                              "coupon": priced["coupon"].code if priced["coupon"] else None})
        accrue_commission(order=order)
        rentals.extend(user=user, days=plan.duration_days, actor=user, via="purchase", ip=ip,
                              details={"order": order.number}, servers=plan.servers_per_rental)
    return order


# --- Commission ------------------------------------------------------------------------------

def accrue_commission(*, order: Order) -> Commission | None:
    """The referring distributor's share of a customer's direct purchase or renewal."""
    from apps.distribution.models import Referral

    referral = (Referral.objects.select_related("distributor__distributor_profile__tier")
                .filter(user=order.buyer).first())
    if referral is None or order.amount_fen == 0:
        return None
    profile = getattr(referral.distributor, "distributor_profile", None)
    if profile is None or profile.tier.commission_percent == 0:
        return None
    percent = profile.tier.commission_percent
    commission = Commission.objects.create(distributor=referral.distributor, order=order,
                                           percent=percent,
                                           amount_fen=percent_of(order.amount_fen, percent))
    audit.record(actor=None, action="billing.commission_accrued", target=commission,
                 details={"order": order.number, "amount_fen": commission.amount_fen})
    return commission


def settle_commission(*, actor, distributor: User, method: str, reference: str = "",
                      ip: str | None = None) -> CommissionSettlement:
    """Settle everything accrued for a distributor: credited to their balance or paid out."""
    policy.require(actor, "billing.add_commissionsettlement")
    if method not in SettlementMethod.values:
        raise ServiceError(_("Choose how to settle: credit or payout."), code="invalid_method")
    if method == SettlementMethod.PAYOUT and not reference.strip():
        raise ServiceError(_("Give the payout reference."), code="reference_required",
                           fields={"reference": [_("Required.")]})
    with transaction.atomic():
        accrued = list(Commission.objects.select_for_update()
                       .filter(distributor=distributor, status=CommissionStatus.ACCRUED))
        total = sum(c.amount_fen for c in accrued)
        if not total:
            raise Conflict(_("Nothing to settle: no accrued commission."), code="nothing_accrued")
        settlement = CommissionSettlement.objects.create(distributor=distributor, amount_fen=total,
                                                         method=method, reference=reference,
                                                         settled_by=actor)
        Commission.objects.filter(pk__in=[c.pk for c in accrued]).update(
            status=CommissionStatus.SETTLED, settlement=settlement)
        if method == SettlementMethod.CREDIT:
            post_entry(owner=distributor, amount_fen=total, kind=LedgerKind.COMMISSION,
                       reference=f"settlement {settlement.pk}", actor=actor)
        audit.record(actor=actor, action="billing.commission_settled", target=distributor, ip=ip,
                     details={"amount_fen": total, "method": method, "entries": len(accrued)})
    return settlement


# --- Order marks -----------------------------------------------------------------------------

def mark_order(*, actor, order: Order, status: str, reference: str = "",
               ip: str | None = None) -> Order:
    """An operator marks an order completed, renewed, cancelled or (super admin) refunded.

    Completing a pending code batch is the super admin's, with the payment reference of the
    money received, and makes its codes paid; cancelling one revokes its unused codes. A refund
    (super admin) returns balance payments to the balance and withdraws the commission accrued
    on the order.
    """
    policy.require(actor, "billing.change_order")
    if status not in OrderStatus.values:
        raise ServiceError(_("Unknown order status."), code="invalid_status")
    with transaction.atomic():
        locked = (Order.objects.visible_to(actor).select_for_update(of=("self",))
                  .filter(pk=order.pk).first())
        if locked is None:
            raise NotFound(_("No such order."))
        if not locked.can_become(status):
            raise Conflict(_("An order that is %(current)s cannot be marked %(new)s.")
                           % {"current": locked.get_status_display(),
                              "new": OrderStatus(status).label}, code="invalid_transition")
        if status == OrderStatus.REFUNDED:
            policy.require(actor, "billing.refund_order")
        elif status == OrderStatus.COMPLETED and locked.kind == OrderKind.CODE_BATCH:
            policy.require(actor, "billing.confirm_batch_payment")
        if locked.kind == OrderKind.CODE_BATCH and status == OrderStatus.COMPLETED \
                and not reference.strip():
            raise ServiceError(_("Give the payment reference of the money received for this batch."),
                               code="reference_required", fields={"reference": [_("Required.")]})
        previous = locked.status
        locked.status = status
        if status == OrderStatus.COMPLETED:
            locked.completed_at = timezone.now()
            locked.payment_reference = reference or locked.payment_reference
        locked.save()
        if locked.kind == OrderKind.CODE_BATCH:
            from apps.distribution import services as distribution

            distribution.follow_batch_order(order=locked)
        withdrawn = 0
        if status == OrderStatus.REFUNDED:
            if locked.paid_from_balance and locked.amount_fen:
                post_entry(owner=locked.buyer, amount_fen=locked.amount_fen, kind=LedgerKind.REFUND,
                           order=locked, reference=reference, actor=actor)
            withdrawn = _withdraw_commission(locked)
        audit.record(actor=actor, action="billing.order_marked", target=locked, ip=ip,
                     details={"from": previous, "to": status, "reference": reference,
                              "commission_withdrawn_fen": withdrawn})
    return locked


def _withdraw_commission(order: Order) -> int:
    """A refunded sale earns no commission: drop what is accrued on it (the caller audits).
    Commission already settled stays settled; the books show the refund beside it."""
    accrued = Commission.objects.select_for_update().filter(order=order,
                                                            status=CommissionStatus.ACCRUED).first()
    if accrued is None:
        return 0
    accrued.delete()
    return accrued.amount_fen
