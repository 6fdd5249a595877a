"""The distributor portal: dashboard, code batches, the codes list (exported as CSV by a worker)
and orders.

Every page is the distributor's own: anyone else gets 404, anonymous visitors the sign-in page.
Views parse, call one service, render; the rules live in services.py.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from apps.accounts import policy
from apps.billing import reviews
from apps.billing import services as billing
from apps.billing.models import (
    Commission,
    CommissionStatus,
    LedgerEntry,
    Order,
    OrderKind,
    OrderStatus,
    Plan,
    format_fen,
)
from apps.operations import exports
from derpmgr.errors import NotFound, ServiceError
from derpmgr.net import client_ip

from . import dashboard as figures
from . import services
from .forms import CodeFilterForm, GenerateCodesForm, RevokeForm
from .models import ActivationCode, CodeStatus, DistributorProfile, Referral
from .operations import CODES, filtered_codes

PAGE_SIZE = 50
LATEST_REFERRALS = 10
FRESH_BATCHES = "portal_fresh_batches"  # session: order numbers whose codes are yet to be shown
FRESH_BATCHES_KEPT = 10


# Signed in (else the sign-in page) and a distributor (else 404, as if the page did not exist).
distributor_required = policy.page_requires(policy.DISTRIBUTOR)


def _profile(user) -> DistributorProfile | None:
    return DistributorProfile.objects.visible_to(user).select_related("tier").filter(user=user).first()


def _posted(request):
    return request.POST if request.method == "POST" else None


def _back(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse(fallback)


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


# --- Dashboard -------------------------------------------------------------------------------

def code_counts(codes) -> dict:
    """Codes by what they are now: an unused code past its deadline counts as expired."""
    now = timezone.now()
    return codes.aggregate(
        unused=Count("pk", filter=Q(status=CodeStatus.UNUSED, expires_at__gt=now)),
        used=Count("pk", filter=Q(status=CodeStatus.USED)),
        expired=Count("pk", filter=Q(status=CodeStatus.EXPIRED)
                      | Q(status=CodeStatus.UNUSED, expires_at__lte=now)),
        revoked=Count("pk", filter=Q(status=CodeStatus.REVOKED)),
    )


@distributor_required
def dashboard(request):
    user = request.user
    counts = code_counts(ActivationCode.objects.visible_to(user))
    commission = Commission.objects.visible_to(user).aggregate(
        accrued=Sum("amount_fen", filter=Q(status=CommissionStatus.ACCRUED)),
        settled=Sum("amount_fen", filter=Q(status=CommissionStatus.SETTLED)))
    referrals = Referral.objects.filter(distributor=user).select_related("user")
    status_rows = [(status, label, counts[status]) for status, label in CodeStatus.choices]
    return render(request, "portal/dashboard.html", {
        "profile": _profile(user),
        "balance": format_fen(billing.balance_of(user)),
        "status_rows": status_rows,
        "codes_total": sum(counts.values()),
        "referral_count": referrals.count(),
        "latest_referrals": referrals.order_by("-created_at", "-pk")[:LATEST_REFERRALS],
        "commission_accrued": format_fen(commission["accrued"] or 0),
        "commission_settled": format_fen(commission["settled"] or 0),
        **figures.sales_this_month(user),
    })


# --- Generating codes ------------------------------------------------------------------------

class PlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} — {obj.price_display}"


class PortalGenerateCodesForm(GenerateCodesForm):
    """The shared batch form, with the plan picked from those on sale instead of by days.

    Servers cannot be pinned from the portal (the service refuses every id until the fleet
    exists), so the field is left out rather than offered and refused.
    """

    duration_days = None
    server_ids = None
    plan = PlanChoiceField(label=gettext_lazy("Plan"), queryset=Plan.objects.filter(active=True),
                           empty_label=None)

    field_order = ["plan", "quantity", "pay_with_balance"]


def _refuse(request, template: str, context: dict, error: ServiceError):
    """Re-render the page with the service's refusal and the status an API would give."""
    form = context.get("form")
    if form is not None:
        form.add_error(None, error.message)
        for field, field_messages in error.fields.items():
            if field in form.fields:
                for message in field_messages:
                    form.add_error(field, message)
    else:
        context["error"] = error.message
    return render(request, template, context, status=error.status)


REVIEW_KIND = "code_batch"


def _generate_page(request, form, *, status: int = 200):
    user = request.user
    return render(request, "portal/generate.html", {
        "form": form, "profile": _profile(user), "balance": format_fen(billing.balance_of(user)),
        "plans": Plan.objects.filter(active=True)}, status=status)


def _refuse_generate(request, form, error: ServiceError):
    user = request.user
    return _refuse(request, "portal/generate.html", {
        "form": form, "profile": _profile(user), "balance": format_fen(billing.balance_of(user)),
        "plans": Plan.objects.filter(active=True)}, error)


def _review(request, priced: dict, *, pay_with_balance: bool, status: int = 200, error: str = ""):
    """The review page of a batch: plan, quantity, prices, the total, the balance now and after
    (when paid from it); Confirm or Back. Nothing is bought until Confirm."""
    user = request.user
    balance_fen = billing.balance_of(user)
    after_fen = balance_fen - priced["amount_fen"]
    covered = not pay_with_balance or after_fen >= 0
    review = reviews.sign(buyer=user, kind=REVIEW_KIND, total_fen=priced["amount_fen"],
                          plan=priced["plan"].pk, quantity=priced["quantity"],
                          pay_with_balance=pay_with_balance)
    return render(request, "portal/generate_review.html", {
        "plan": priced["plan"], "quantity": priced["quantity"],
        "unit_price": format_fen(priced["plan"].price_fen),
        "list_price": format_fen(priced["list_price_fen"]),
        "discount_percent": priced["discount_percent"], "discount": format_fen(priced["discount_fen"]),
        "total": format_fen(priced["amount_fen"]), "pay_with_balance": pay_with_balance,
        "balance": format_fen(balance_fen), "balance_after": format_fen(after_fen),
        "covered": covered, "review": review, "error": error,
    }, status=status if covered or status != 200 else 402)


@distributor_required
def generate(request):
    """The batch form; sending it shows the review (nothing bought). A blank or bad quantity is
    the form again with its message (400), never a batch of one."""
    if request.method == "POST" and request.POST.get("action") == "edit":
        initial = {"plan": request.POST.get("plan"), "quantity": request.POST.get("quantity"),
                   "pay_with_balance": bool(request.POST.get("pay_with_balance"))}
        return _generate_page(request, PortalGenerateCodesForm(initial=initial))
    form = PortalGenerateCodesForm(_posted(request))
    if request.method != "POST" or not form.is_valid():
        return _generate_page(request, form, status=400 if form.errors else 200)
    data = form.cleaned_data
    try:
        priced = services.quote_batch(actor=request.user, plan=data["plan"],
                                      quantity=data["quantity"])
    except ServiceError as error:
        return _refuse_generate(request, form, error)
    return _review(request, priced, pay_with_balance=data["pay_with_balance"])


@distributor_required
@require_POST
def confirm_generate(request):
    """Buy exactly the reviewed batch, for the reviewed total, once (apps/billing/reviews.py)."""
    user = request.user
    form = PortalGenerateCodesForm(request.POST)  # the choice again, for the page errors go to
    form.is_valid()
    try:
        reviewed = reviews.read(request.POST.get("review", ""), buyer=user, kind=REVIEW_KIND)
        plan = Plan.objects.filter(pk=reviewed["plan"], active=True).first()
        if plan is None:
            raise NotFound(_("This plan is not on sale."), code="plan_unknown")
        _batch, order = services.generate_codes(
            actor=user, plan=plan, quantity=reviewed["quantity"],
            pay_with_balance=reviewed["pay_with_balance"], ip=client_ip(request),
            expected_amount_fen=reviewed["total_fen"], request_key=reviewed["key"])
    except billing.PriceChanged as error:
        try:
            priced = services.quote_batch(actor=user, plan=plan, quantity=reviewed["quantity"])
        except ServiceError as refusal:
            return _refuse_generate(request, form, refusal)
        return _review(request, priced, pay_with_balance=reviewed["pay_with_balance"],
                       status=error.status, error=error.message)
    except ServiceError as error:
        return _refuse_generate(request, form, error)
    fresh = request.session.get(FRESH_BATCHES, [])
    request.session[FRESH_BATCHES] = [*fresh, order.number][-FRESH_BATCHES_KEPT:]
    return redirect("portal:generated", number=order.number)


@distributor_required
def generated(request, number: str):
    """The new batch's codes, shown once right after generation (they stay in the codes list)."""
    fresh = request.session.get(FRESH_BATCHES, [])
    if number not in fresh:
        return redirect("portal:codes")
    request.session[FRESH_BATCHES] = [n for n in fresh if n != number]
    order = get_object_or_404(Order.objects.visible_to(request.user), number=number)
    batch = ActivationCode.objects.visible_to(request.user).filter(order=order).select_related("plan")
    return render(request, "portal/generated.html", {
        "order": order, "codes": batch.order_by("pk"),
        "amount": format_fen(order.amount_fen), "discount": format_fen(order.discount_fen),
    })


# --- The codes list --------------------------------------------------------------------------

def _filtered_codes(request):
    """The filter form and the caller's codes it selects (none while the filters are invalid)."""
    form = CodeFilterForm(request.GET or None)
    for name in ("created_from", "created_to"):
        widget = form.fields[name].widget
        widget.input_type, widget.format = "date", "%Y-%m-%d"
    codes = ActivationCode.objects.visible_to(request.user).select_related("plan", "user")
    if form.is_bound:
        codes = form.apply(codes) if form.is_valid() else codes.none()
    return form, codes


@distributor_required
def code_list(request):
    form, codes = _filtered_codes(request)
    page = _page(request, codes)
    return render(request, "portal/codes.html", {
        "form": form, "page": page, "total": page.paginator.count,
        "csv_query": _without_page(request.GET), "statuses": CodeStatus.choices,
    }, status=400 if form.errors else 200)


def _without_page(query) -> str:
    query = query.copy()
    query.pop("page", None)
    return query.urlencode()


# --- Exports: the codes list as a CSV file, written by a worker --------------------------------

@distributor_required
@require_POST
def codes_export(request):
    """Ask for the filtered codes (the query string's filters) as a file; follow it on its page."""
    params = {key: value for key, value in request.GET.items() if key != "page"}
    try:
        filtered_codes(request.user, params)  # refuse bad filters now, not in the worker
        operation = exports.request(actor=request.user, name=CODES, params=params,
                                    ip=client_ip(request))
    except ServiceError as error:
        return render(request, "portal/refused.html", {
            "error": error.message, "back": reverse("portal:codes")}, status=error.status)
    return redirect("portal:export", pk=operation.pk)


@distributor_required
def export_detail(request, pk: int):
    """The export's progress (the part polls itself while a worker writes the file), then the
    link to the file."""
    operation = exports.own_export(request.user, pk)
    template = "portal/_export.html" if request.htmx else "portal/export.html"
    return render(request, template, {"operation": operation,
                                      "ready": exports.file_of(operation) is not None,
                                      "keep_hours": settings.EXPORT_KEEP_HOURS})


@distributor_required
def export_download(request, pk: int):
    return exports.download(exports.own_export(request.user, pk))


def _refused(request, back: str, message: str, status: int):
    return render(request, "portal/refused.html", {"error": message, "back": back}, status=status)


def _posted_ids(request) -> tuple[list[int] | None, str]:
    """The code ids a revocation names, or None and why they cannot be read."""
    form = RevokeForm({"ids": request.POST.getlist("ids")})
    if not form.is_valid():
        return None, next(iter(form.errors.values()))[0]
    return form.cleaned_data["ids"], ""


NOTHING_TO_REVOKE = gettext_lazy("Only unused codes can be revoked; this one is already used, "
                                 "expired or revoked. Nothing changed.")


@distributor_required
@require_POST
def revoke_confirm(request):
    """The step before a bulk revocation: which of the ticked codes it revokes, and a confirm."""
    back = _back(request, "portal:codes")
    ids, problem = _posted_ids(request)
    if ids is None:
        if not any(request.POST.getlist("ids")):
            problem = _("Tick the codes to revoke first.")
        return _refused(request, back, problem, 400)
    try:
        revocable, kept = services.revocation_preview(actor=request.user, code_ids=ids)
    except ServiceError as error:
        return _refused(request, back, error.message, error.status)
    if not revocable:
        return _refused(request, back, _("Only unused codes can be revoked, and none of the ticked "
                                         "codes is unused. Nothing changed."), 409)
    return render(request, "portal/revoke_confirm.html", {
        "codes": revocable, "kept": kept, "back": back})


@distributor_required
@require_POST
def revoke(request):
    back = _back(request, "portal:codes")
    ids, problem = _posted_ids(request)
    if ids is None:
        return _refused(request, back, problem, 400)
    try:
        revoked = services.revoke(actor=request.user, code_ids=ids, ip=client_ip(request))
    except ServiceError as error:
        return _refused(request, back, error.message, error.status)
    if not revoked:
        return _refused(request, back, NOTHING_TO_REVOKE, 409)
    messages.success(request, ngettext("%(n)d code revoked.", "%(n)d codes revoked.", revoked)
                     % {"n": revoked})
    return redirect(back)


# --- Orders ----------------------------------------------------------------------------------

@distributor_required
def orders(request):
    page = _page(request, Order.objects.visible_to(request.user).select_related("plan")
                 .annotate(all_discounts_fen=F("discount_fen") + F("coupon_discount_fen")))
    page.object_list = list(page.object_list)
    for order in page.object_list:
        order.list_price = format_fen(order.list_price_fen)
        order.discount = format_fen(order.all_discounts_fen)
    return render(request, "portal/orders.html", {"page": page})


@distributor_required
def order_detail(request, number: str):
    """One order: what was bought at what price, how to pay it while pending, and the batch's codes."""
    user = request.user
    order = get_object_or_404(Order.objects.visible_to(user).select_related("plan"), number=number)
    batch = ActivationCode.objects.visible_to(user).filter(order=order).select_related("plan", "user")
    page = _page(request, batch.order_by("pk"))
    return render(request, "portal/order.html", {
        "order": order, "page": page, "statuses": CodeStatus.choices,
        "is_batch": order.kind == OrderKind.CODE_BATCH,
        "awaiting_payment": order.status == OrderStatus.PENDING,
        "payment_instructions": settings.PAYMENT_INSTRUCTIONS,
        "list_price": format_fen(order.list_price_fen), "discount": format_fen(order.discount_fen),
        "coupon_discount": format_fen(order.coupon_discount_fen),
    })


# --- The ledger ------------------------------------------------------------------------------

@distributor_required
def ledger(request):
    """Every movement of the balance, newest first, with the balance after each."""
    user = request.user
    page = _page(request, LedgerEntry.objects.visible_to(user).select_related("order"))
    page.object_list = list(page.object_list)
    for entry in page.object_list:
        entry.amount = format_fen(entry.amount_fen)
        entry.balance_after = format_fen(entry.balance_after_fen)
    return render(request, "portal/ledger.html", {
        "page": page, "balance": format_fen(billing.balance_of(user))})
