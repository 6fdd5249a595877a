"""Activation codes: generation in batches, redemption, revocation, expiry."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts import policy
from apps.accounts.models import Role, User
from apps.audit import services as audit
from apps.billing import services as billing
from apps.billing.models import LedgerKind, Order, OrderKind, OrderStatus, Plan, percent_of
from apps.rentals import services as rentals
from derpmgr.errors import Conflict, NotFound, PermissionDenied, ServiceError

from . import codes
from .models import ActivationCode, CodeStatus, DistributorProfile, Referral

MAX_ID = 2**63  # a primary key is a signed 64-bit integer


def _check_batch(quantity) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) \
            or not 1 <= quantity <= settings.CODE_BATCH_MAX:
        raise ServiceError(
            _("A batch holds 1 to %(max)d codes.") % {"max": settings.CODE_BATCH_MAX},
            code="invalid_quantity", fields={"quantity": [_("Out of range.")]})
    return quantity


def _check_servers(server_ids, *, actor: User) -> list:
    """The servers a batch pins its relays to; every id must name a server the actor can see.

    An id the actor cannot see is refused exactly like one that does not exist, so ids cannot be
    probed. Those who see no servers at all (distributors) are told pinning is not theirs,
    whatever the ids.
    """
    from apps.servers.models import Server

    wanted = set(server_ids or [])
    if not wanted:
        return []
    if not policy.can(actor, "servers.view_server"):
        message = _("Only operators pin codes to servers; leave server_ids out.")
        raise PermissionDenied(message, code="pinning_not_allowed", fields={"server_ids": [message]})
    found = list(Server.objects.visible_to(actor).filter(pk__in=[i for i in wanted if 0 < i < MAX_ID]))
    unknown = sorted(wanted - {s.pk for s in found})
    if unknown:
        raise NotFound(_("Unknown server ids: %(ids)s") % {"ids": ", ".join(map(str, unknown))},
                       code="unknown_servers", fields={"server_ids": [_("Unknown server.")]})
    return found


def _make_codes(*, plan: Plan, quantity: int, created_by: User, order: Order | None, paid: bool,
                valid_days: int, servers=()) -> list[ActivationCode]:
    expires_at = timezone.now() + timedelta(days=valid_days)
    batch = [ActivationCode(code=codes.generate(), plan=plan, created_by=created_by, order=order,
                            paid=paid, expires_at=expires_at) for _i in range(quantity)]
    try:
        with transaction.atomic():
            made = ActivationCode.objects.bulk_create(batch)
            if servers:
                ActivationCode.servers.through.objects.bulk_create(
                    ActivationCode.servers.through(activationcode_id=code.pk, server_id=server.pk)
                    for code in made for server in servers)
            return made
    except IntegrityError:  # 110 random bits: a collision means a broken RNG, not bad luck
        raise ServiceError(_("Could not generate unique codes; try again."), status=503,
                           code="generation_failed") from None


def _tier_profile(actor: User) -> DistributorProfile:
    profile = DistributorProfile.objects.select_related("tier").filter(user=actor).first()
    if profile is None:
        raise PermissionDenied(_("Your distributor account has no tier yet; ask your admin."),
                               code="no_tier")
    return profile


def _batch_price(*, profile: DistributorProfile, plan: Plan, quantity: int) -> dict:
    list_price = plan.price_fen * quantity
    discount = percent_of(list_price, profile.tier.discount_percent)
    return {"list_price_fen": list_price, "discount_fen": discount,
            "amount_fen": list_price - discount}


def quote_batch(*, actor: User, plan: Plan, quantity: int) -> dict:
    """What a distributor's batch would cost now (list price, tier discount, total), refused as
    generate_codes would refuse it: the portal's review step shows this before buying."""
    _check_batch(quantity)
    if not plan.active:
        raise NotFound(_("This plan is not on sale."), code="plan_unknown")
    policy.require(actor, policy.DISTRIBUTOR)
    profile = _tier_profile(actor)
    return {"plan": plan, "quantity": quantity, "discount_percent": profile.tier.discount_percent,
            **_batch_price(profile=profile, plan=plan, quantity=quantity)}


def generate_codes(*, actor: User, plan: Plan, quantity: int, server_ids=None,
                   pay_with_balance: bool = True, paid: bool = True,
                   valid_days: int | None = None, ip: str | None = None,
                   expected_amount_fen: int | None = None,
                   request_key: str = "") -> tuple[list, Order | None]:
    """A batch of codes for `plan`.

    A distributor buys the batch at their tier's discount: paid from their balance at once, or
    left as a pending order a super admin completes when the money arrives (the codes become
    paid then). Admins issue codes without an order; `paid=False` marks them as on credit.
    The portal confirms a reviewed batch: `expected_amount_fen` is the total its review showed
    and `request_key` names that review (as billing.services.purchase_plan).
    """
    _check_batch(quantity)
    servers = _check_servers(server_ids, actor=actor)
    valid_days = valid_days or settings.CODE_VALIDITY_DAYS
    if not plan.active:
        raise NotFound(_("This plan is not on sale."), code="plan_unknown")
    if policy.can(actor, policy.DISTRIBUTOR):
        return _distributor_batch(actor=actor, profile=_tier_profile(actor), plan=plan,
                                  quantity=quantity, pay_with_balance=pay_with_balance,
                                  valid_days=valid_days, ip=ip, servers=servers,
                                  expected_amount_fen=expected_amount_fen, request_key=request_key)
    policy.require(actor, "distribution.add_activationcode")
    with transaction.atomic():
        batch = _make_codes(plan=plan, quantity=quantity, created_by=actor, order=None, paid=paid,
                            valid_days=valid_days, servers=servers)
        audit.record(actor=actor, action="distribution.codes_generated", target=plan, ip=ip,
                     details={"quantity": quantity, "paid": paid})
    return batch, None


def _distributor_batch(*, actor, profile, plan, quantity, pay_with_balance, valid_days, ip,
                       servers, expected_amount_fen, request_key):
    priced = _batch_price(profile=profile, plan=plan, quantity=quantity)
    with transaction.atomic():
        if request_key:  # the distributor's row: a second sending of this review waits here
            User.objects.select_for_update().filter(pk=actor.pk).first()
            earlier = billing.replayed_order(buyer=actor, request_key=request_key)
            if earlier is not None:
                return list(earlier.codes.order_by("pk")), earlier
        billing.check_reviewed_total(priced["amount_fen"], expected_amount_fen)
        order = Order.objects.create(
            buyer=actor, kind=OrderKind.CODE_BATCH, plan=plan, quantity=quantity,
            status=OrderStatus.PENDING, request_key=request_key, **priced)
        if pay_with_balance:
            if order.amount_fen:
                billing.post_entry(owner=actor, amount_fen=-order.amount_fen,
                                   kind=LedgerKind.PAYMENT, order=order, actor=actor)
            order.status, order.paid_from_balance = OrderStatus.COMPLETED, True
            order.completed_at = timezone.now()
            order.save(update_fields=["status", "paid_from_balance", "completed_at"])
        batch = _make_codes(plan=plan, quantity=quantity, created_by=actor, order=order,
                            paid=order.status == OrderStatus.COMPLETED, valid_days=valid_days,
                            servers=servers)
        audit.record(actor=actor, action="distribution.codes_generated", target=order, ip=ip,
                     details={"quantity": quantity, "plan": plan.pk, "amount_fen": order.amount_fen,
                              "paid": order.status == OrderStatus.COMPLETED})
    return batch, order


def follow_batch_order(*, order: Order) -> None:
    """A code batch's codes follow its order: paid when completed, revoked when cancelled."""
    if order.status in (OrderStatus.COMPLETED, OrderStatus.RENEWED):
        order.codes.update(paid=True)
    elif order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        order.codes.filter(status=CodeStatus.UNUSED).update(
            status=CodeStatus.REVOKED, revoked_at=timezone.now())
        order.codes.update(paid=False)


class CodeRefused(ServiceError):
    code = "code_invalid"


def redeem(*, user: User, raw_code: str, ip: str | None = None) -> ActivationCode:
    """A customer activates a code: exactly one of any number of concurrent tries wins."""
    try:
        canonical = codes.normalise(raw_code)
    except codes.InvalidCode as exc:
        raise CodeRefused(_("This is not a valid code; check it for typos."),
                          code="code_malformed", fields={"code": [_("Check for typos.")]}) from exc
    if not policy.can(user, policy.CUSTOMER):
        raise PermissionDenied(_("Only customer accounts activate codes."), code="not_a_customer")
    if not user.email_verified:
        raise PermissionDenied(_("Verify your e-mail address before activating a code."),
                               code="email_unverified")
    now = timezone.now()
    with transaction.atomic():
        claimed = ActivationCode.objects.filter(
            code=canonical, status=CodeStatus.UNUSED, expires_at__gt=now,
        ).update(status=CodeStatus.USED, user=user, used_at=now)
        code = ActivationCode.objects.select_related("plan", "created_by").filter(code=canonical).first()
        if not claimed:
            raise _why_not(code, user)
        if code.created_by.role == Role.DISTRIBUTOR:  # who made it, not who may: a referral
            Referral.objects.get_or_create(user=user, defaults={"distributor": code.created_by,
                                                                 "code": code})
        audit.record(actor=user, action="distribution.code_redeemed", target=code, ip=ip,
                     details={"plan": code.plan_id, "days": code.plan.duration_days})
        rentals.extend(user=user, days=code.plan.duration_days, actor=user, via="code",
                              ip=ip, details={"code_id": code.pk},
                              servers=code.plan.servers_per_rental,
                              pinned_ids=list(code.servers.values_list("pk", flat=True)))
    return code


def _why_not(code: ActivationCode | None, user: User) -> ServiceError:
    if code is None:
        return CodeRefused(_("No such code."), code="code_unknown", status=404)
    if code.status == CodeStatus.USED:
        if code.user_id == user.pk:
            return Conflict(_("You have already activated this code."), code="code_already_yours")
        return Conflict(_("This code has already been used."), code="code_used")
    if code.status == CodeStatus.REVOKED:
        return CodeRefused(_("This code has been revoked."), code="code_revoked", status=410)
    return CodeRefused(_("This code has expired."), code="code_expired", status=410)


def _may_revoke(actor: User) -> bool:
    return policy.can(actor, policy.DISTRIBUTOR) or policy.can(actor,
                                                             "distribution.change_activationcode")


def _selected_codes(*, actor: User, code_ids: list[int]):
    """The codes named by id, all of which the actor must see and may revoke (else NotFound)."""
    if not code_ids or any(isinstance(i, bool) or not isinstance(i, int) or not 0 < i < MAX_ID
                           for i in code_ids):  # no such row; SQLite cannot even compare it
        raise NotFound(_("Some of these codes do not exist."), code="unknown_codes")
    targets = ActivationCode.objects.visible_to(actor).filter(pk__in=code_ids)
    if not _may_revoke(actor) or targets.count() != len(set(code_ids)):
        raise NotFound(_("Some of these codes do not exist."), code="unknown_codes")
    return targets


def revocation_preview(*, actor: User, code_ids: list[int]) -> tuple[list[ActivationCode], int]:
    """What revoking these codes would do, before it is done: the codes that would be revoked
    (the unused ones, oldest first) and how many of the rest would stay as they are."""
    targets = _selected_codes(actor=actor, code_ids=code_ids)
    revocable = list(targets.filter(status=CodeStatus.UNUSED).select_related("plan").order_by("pk"))
    return revocable, len(set(code_ids)) - len(revocable)


def revoke(*, actor: User, code_ids: list[int], ip: str | None = None) -> int:
    """Revoke unused codes the actor may see; used ones stay used."""
    with transaction.atomic():
        targets = _selected_codes(actor=actor, code_ids=code_ids)
        revoked = targets.filter(status=CodeStatus.UNUSED).update(status=CodeStatus.REVOKED,
                                                                  revoked_at=timezone.now())
        audit.record(actor=actor, action="distribution.codes_revoked", ip=ip,
                     details={"ids": sorted(set(code_ids)), "revoked": revoked})
    return revoked


def expire_unused_codes() -> int:
    """Mark unused codes past their deadline expired (the periodic job; safe to rerun)."""
    return ActivationCode.objects.filter(status=CodeStatus.UNUSED, expires_at__lte=timezone.now()) \
        .update(status=CodeStatus.EXPIRED)


def plan_for_duration(days) -> Plan:
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        raise ServiceError(_("duration_days must be a positive whole number."),
                           code="invalid_duration", fields={"duration_days": [_("Positive integer.")]})
    plan = Plan.objects.for_duration(days)
    if plan is None:
        durations = ", ".join(str(d) for d in Plan.objects.filter(active=True)
                              .values_list("duration_days", flat=True))
        raise NotFound(_("No plan lasts %(days)d days. Plans on sale: %(durations)s.")
                       % {"days": days, "durations": durations}, code="plan_unknown",
                       fields={"duration_days": [_("No such plan.")]})
    return plan


# --- New distributors ------------------------------------------------------------------------

SET_TIER = "distribution.change_distributortier"


def first_tiers():
    """The tiers a new distributor may start on without the right to set tiers: the lowest."""
    from .models import DistributorTier

    lowest = DistributorTier.objects.order_by("rank", "pk").values("rank")[:1]
    return DistributorTier.objects.filter(rank__in=lowest)


def create_distributor(*, actor: User, email: str, username: str, tier, owner: User | None = None,
                       ip: str | None = None) -> DistributorProfile:
    """A distributor in one step: the account (no password yet), its profile with the tier and
    the owning admin, and the invitation e-mail to choose a password (which verifies the
    address). An admin owns the distributors they create; only a super admin names another owner,
    and only who may set tiers starts one above the lowest tier."""
    from apps.accounts import services as accounts

    policy.require(actor, "distribution.add_distributorprofile")
    email = User.objects.normalize_email(email.strip())
    owner = owner if owner is not None and policy.can(actor, policy.SUPERADMIN) else actor
    if owner.role not in (Role.ADMIN, Role.SUPERADMIN) or not owner.is_active:
        raise ServiceError(_("The owner must be an active admin."), code="invalid_owner",
                           fields={"owner": [_("Choose an active admin.")]})
    if not policy.can(actor, SET_TIER) and not first_tiers().filter(pk=tier.pk).exists():
        raise PermissionDenied(_("A new distributor starts on the lowest tier; a super admin "
                                 "moves them up."), fields={"tier": [_("Not yours to give.")]})
    taken = {}
    if User.objects.filter(email__iexact=email).exists():
        taken["email"] = [_("An account with this e-mail address exists.")]
    if User.objects.filter(username__iexact=username).exists():
        taken["username"] = [_("This username is taken.")]
    if taken:
        raise Conflict(next(iter(taken.values()))[0], code="account_exists", fields=taken)
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=None,
                                            role=Role.DISTRIBUTOR, language=actor.language)
            profile = DistributorProfile.objects.create(user=user, tier=tier, owner=owner)
            audit.record(actor=actor, action="distribution.distributor_created", target=user,
                         ip=ip, details={"tier": tier.slug, "owner": owner.email})
            accounts.invite(actor=actor, user=user, ip=ip)
    except IntegrityError:  # made a moment ago by someone else
        raise Conflict(_("An account with this e-mail address or username exists."),
                       code="account_exists") from None
    return profile
