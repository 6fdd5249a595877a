"""The operators' page of one customer's rental, and its actions (renew, suspend, resume,
delete): each POST calls one verb of services.py and goes back to the page with a message
(POST-redirect-GET); a refusal shows on the page with the service's status, nothing changed.
Who may do what is the policy's: the same permissions as the API."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from apps.accounts import policy
from apps.accounts.models import User
from derpmgr.errors import ServiceError
from derpmgr.net import client_ip

from . import services
from .forms import DeleteForm, RenewForm, SuspendForm, show_refusal
from .status import end_label, rental_status, shortfall_check_minutes, visible_account

VIEW = "accounts.view_user"
RENEW = "rentals.renew_rental"
SUSPEND = "rentals.suspend_rental"
DELETE = "accounts.delete_user"


def _customer(request, pk: int) -> User:
    user = visible_account(request.user, pk)
    if user is None:
        raise Http404(_("No such user."))
    return user


def _page(request, user, *, status: int = 200, **forms):
    may = {name: policy.can(request.user, action, user) for name, action in
           (("renew", RENEW), ("suspend", SUSPEND), ("delete", DELETE),
            ("top_up", "billing.top_up_wallet"))}
    context = {"customer": user, "status": rental_status(user), "end": end_label(user),
               "check_minutes": shortfall_check_minutes(), "may": may,
               "renew_form": forms.get("renew_form") or RenewForm(),
               "suspend_form": forms.get("suspend_form") or SuspendForm(),
               "delete_form": forms.get("delete_form") or DeleteForm()}
    return render(request, "ops/customers/detail.html", context, status=status)


@policy.page_requires(VIEW)
def customer(request, pk):
    return _page(request, _customer(request, pk))


def _act(request, pk, action: str, do, done, *, form_class=None, form_name: str = ""):
    """POST: check, validate, call the verb, and go back to the page saying what happened."""
    user = _customer(request, pk)
    policy.require_page(request.user, action, user)
    if request.method != "POST":
        return redirect("rentals:customer", pk=user.pk)
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        return _page(request, user, status=400, **{form_name: form})
    try:
        do(user, form)
    except ServiceError as error:
        if form is None:
            messages.error(request, error.message)
            return _page(request, user, status=error.status)
        show_refusal(form, error)
        return _page(request, user, status=error.status, **{form_name: form})
    messages.success(request, done(user) if callable(done) else done)
    return redirect("rentals:customer", pk=user.pk)


@policy.page_requires(VIEW)
def renew(request, pk):
    return _act(request, pk, RENEW, lambda user, form: services.renew(
        user=user, actor=request.user, ip=client_ip(request), **form.renewal()),
        lambda user: _("Renewed until %(end)s.") % {"end": end_label(user)},
        form_class=RenewForm, form_name="renew_form")


@policy.page_requires(VIEW)
def suspend(request, pk):
    return _act(request, pk, SUSPEND, lambda user, form: services.suspend(
        user=user, actor=request.user, reason=form.cleaned_data["reason"], ip=client_ip(request)),
        _("Suspended: the relays are being stopped and the customer is told why."),
        form_class=SuspendForm, form_name="suspend_form")


@policy.page_requires(VIEW)
def resume(request, pk):
    return _act(request, pk, SUSPEND, lambda user, form: services.resume(
        user=user, actor=request.user, ip=client_ip(request)), _("Resumed."))


@policy.page_requires(VIEW)
def delete(request, pk):
    return _act(request, pk, DELETE, lambda user, form: services.delete_user(
        actor=request.user, user=user, ip=client_ip(request)),
        _("The account is deleted: its relays are being removed."),
        form_class=DeleteForm, form_name="delete_form")
