"""The customer's pages: activate a code, buy or renew a plan, orders, balance.

Customers only: any other role is told nothing is here (404), anonymous visitors sign in first.
Each view parses, checks, calls one service and renders; refusals come back on the page they
belong to with the status the API would use.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from apps.accounts import policy
from apps.accounts.models import RentalState
from apps.distribution import services as distribution
from apps.distribution.forms import RedeemForm
from apps.distribution.limits import redeem_counting_wrong_codes
from derpmgr.errors import NotFound, RateLimited, ServiceError
from derpmgr.net import client_ip

from . import reviews, services
from .forms import PurchaseForm
from .models import LedgerEntry, Order, Plan, format_fen

PAGE_SIZE = 50
LATEST_ORDERS = 5


# Signed-in customers only; every other role gets 404, anonymous visitors the sign-in.
customer_page = policy.page_requires(policy.CUSTOMER)


def _posted(request):
    return request.POST if request.method == "POST" else None


def _when(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "Y-m-d H:i")


def _refuse(request, template: str, context: dict, error: ServiceError, *, field: str | None = None):
    """Re-render the page with the service's message (on `field`, or above the form) and status."""
    form = context["form"]
    form.add_error(field if field in form.fields else None, error.message)
    for name, field_messages in error.fields.items():
        if name in form.fields and name != field:
            for message in field_messages:
                form.add_error(name, message)
    response = render(request, template, context, status=error.status)
    if isinstance(error, RateLimited):
        response["Retry-After"] = str(error.retry_after)
    return response


def _order_rows(orders) -> list[dict]:
    return [{"order": order, "list_price": format_fen(order.list_price_fen),
             "discount": format_fen(order.discount_fen + order.coupon_discount_fen),
             "amount": format_fen(order.amount_fen)} for order in orders]


# --- Activate a code -------------------------------------------------------------------------



@customer_page
def activate_code(request):
    form = RedeemForm(_posted(request))
    context = {"form": form}
    if request.method != "POST" or not form.is_valid():
        return render(request, "billing/activate.html", context, status=400 if form.errors else 200)
    try:
        code = redeem_counting_wrong_codes(request, form.cleaned_data["code"])
    except ServiceError as error:
        return _refuse(request, "billing/activate.html", context, error)
    request.user.refresh_from_db()
    days = code.plan.duration_days
    message = ngettext("Code activated: %(days)d day added. Your rental runs until %(expiry)s.",
                       "Code activated: %(days)d days added. Your rental runs until %(expiry)s.", days)
    messages.success(request, message % {"days": days, "expiry": _when(request.user.rental_expiry)})
    return redirect("accounts:dashboard")


# --- Buy or renew a plan: choose, review, confirm -----------------------------------------

REVIEW_KIND = "purchase"


def _buy_page(request, form, *, status: int = 200, **extra):
    user = request.user
    balance_fen = services.balance_of(user)
    context = {"form": form, "plans": Plan.objects.visible_to(user),
               "renewal": user.rental_state != RentalState.NONE,
               "balance": format_fen(balance_fen), **extra}
    return render(request, "billing/buy.html", context, status=status)


def _refuse_buy(request, form, error: ServiceError):
    field = "coupon" if isinstance(error, services.CouponRefused) else None
    return _refuse(request, "billing/buy.html", {
        "form": form, "plans": Plan.objects.visible_to(request.user),
        "renewal": request.user.rental_state != RentalState.NONE,
        "balance": format_fen(services.balance_of(request.user)),
        "needs_top_up": isinstance(error, services.InsufficientBalance)}, error, field=field)


def _review(request, priced: dict, *, coupon_code: str, status: int = 200, error: str = ""):
    """The review page: what is bought, the total, the balance now and after; Confirm or Back."""
    user = request.user
    balance_fen = services.balance_of(user)
    after_fen = balance_fen - priced["amount_fen"]
    covered = after_fen >= 0
    if not covered and status == 200:
        status = 402
    review = reviews.sign(buyer=user, kind=REVIEW_KIND, total_fen=priced["amount_fen"],
                          plan=priced["plan"].pk, coupon=coupon_code)
    return render(request, "billing/buy_review.html", {
        "quote": _quote_display(priced), "coupon_code": coupon_code, "review": review,
        "renewal": user.rental_state != RentalState.NONE, "error": error,
        "balance": format_fen(balance_fen), "balance_after": format_fen(after_fen),
        "covered": covered,
    }, status=status)


def _quote_display(priced: dict) -> dict:
    return {"plan": priced["plan"], "coupon": priced["coupon"],
            "list_price": format_fen(priced["list_price_fen"]),
            "coupon_discount": format_fen(priced["coupon_discount_fen"]),
            "amount": format_fen(priced["amount_fen"]), "amount_fen": priced["amount_fen"]}


@customer_page
def buy(request):
    """The plans on sale and the choice (plan, coupon); sending it shows the review, which
    charges nothing. "Back" on the review comes here with the choice kept."""
    if request.method == "POST" and request.POST.get("action") == "edit":
        return _buy_page(request, PurchaseForm(initial=request.POST.dict()))
    form = PurchaseForm(_posted(request))
    if request.method != "POST" or not form.is_valid():
        return _buy_page(request, form, status=400 if form.errors else 200)
    data = form.cleaned_data
    try:
        plan = data.get("plan") or distribution.plan_for_duration(data["duration_days"])
        priced = services.quote_purchase(user=request.user, plan=plan, coupon_code=data["coupon"])
    except ServiceError as error:
        return _refuse_buy(request, form, error)
    return _review(request, priced, coupon_code=data["coupon"])


@customer_page
@require_POST
def confirm_purchase(request):
    """Buy exactly what the review showed, for its total, once (apps/billing/reviews.py)."""
    user = request.user
    form = PurchaseForm(request.POST)  # the choice again, for the page an error goes back to
    form.is_valid()
    try:
        reviewed = reviews.read(request.POST.get("review", ""), buyer=user, kind=REVIEW_KIND)
        plan = Plan.objects.visible_to(user).filter(pk=reviewed["plan"]).first()
        if plan is None:
            raise NotFound(_("This plan is not on sale."), code="plan_unknown")
        order = services.purchase_plan(user=user, plan=plan, coupon_code=reviewed["coupon"],
                                       ip=client_ip(request),
                                       expected_amount_fen=reviewed["total_fen"],
                                       request_key=reviewed["key"])
    except services.PriceChanged as error:
        try:
            priced = services.quote_purchase(user=user, plan=plan, coupon_code=reviewed["coupon"])
        except ServiceError as refusal:
            return _refuse_buy(request, form, refusal)
        return _review(request, priced, coupon_code=reviewed["coupon"], status=error.status,
                       error=error.message)
    except ServiceError as error:
        return _refuse_buy(request, form, error)
    user.refresh_from_db()
    messages.success(request, _("Order %(number)s paid: %(amount)s. Your rental runs until %(expiry)s.")
                     % {"number": order.number, "amount": format_fen(order.amount_fen),
                        "expiry": _when(user.rental_expiry)})
    return redirect("accounts:dashboard")


# --- Orders and balance ----------------------------------------------------------------------

@customer_page
def orders(request):
    visible = Order.objects.visible_to(request.user).select_related("plan", "coupon")
    page = Paginator(visible, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "billing/orders.html", {"page": page, "rows": _order_rows(page)})


@customer_page
def balance(request):
    entries = (LedgerEntry.objects.visible_to(request.user).filter(wallet__owner=request.user)
               .select_related("order"))
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"entry": entry, "amount": format_fen(entry.amount_fen),
             "balance_after": format_fen(entry.balance_after_fen)} for entry in page]
    return render(request, "billing/balance.html",
                  {"page": page, "rows": rows,
                   "balance": format_fen(services.balance_of(request.user))})


@customer_page
def summary(request):
    """Balance and latest orders: the fragment the "My rental" page loads (htmx)."""
    latest = Order.objects.visible_to(request.user).select_related("plan", "coupon")[:LATEST_ORDERS]
    return render(request, "billing/_summary.html",
                  {"balance": format_fen(services.balance_of(request.user)),
                   "rows": _order_rows(latest)})
