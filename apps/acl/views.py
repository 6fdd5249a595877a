"""The customer's derpMap and device pages, and the derpMap URL Headscale follows.

Customers only (any other role: 404; anonymous: sign in). Each view parses, calls one service and
renders; a refusal comes back on its page with the status the API would use.
"""

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.billing.views import customer_page
from derpmgr import qr
from derpmgr.api import error_body
from derpmgr.errors import ServiceError
from derpmgr.net import client_ip

from . import services
from .api import attachment
from .forms import DeviceForm, DownloadForm, RenameForm
from .models import AclAccess, AclFormat, Device


def _omit_default_regions(request) -> bool:
    form = DownloadForm({"format": AclFormat.JSON, "omit_default_regions": request.GET.get("omit", "")})
    return form.cleaned_data["omit_default_regions"] if form.is_valid() else True


def _overview(request, *, refused: ServiceError | None = None):
    user = request.user
    omit = _omit_default_regions(request)
    context = {"omit": omit, "refused": refused,
               "devices": Device.objects.filter(user=user).count(),
               "max_devices": services.max_devices_for(user),
               "current": services.current_acl(user)}
    if refused is None:
        try:
            acl = services.take(user=user, access=AclAccess.PAGE, ip=client_ip(request))
        except ServiceError as error:
            refused = context["refused"] = error
        else:
            feed_url = services.feed_url(user)
            context.update(current=acl, feed_url=feed_url, feed_qr=qr.svg(feed_url), renderings=[
                {"format": fmt, "label": label,
                 "body": services.render(acl, fmt, omit_default_regions=omit)[0]}
                for fmt, label in AclFormat.choices])
    return render(request, "acl/overview.html", context, status=refused.status if refused else 200)


@customer_page
@require_GET
def overview(request):
    """The derpMap in three formats with copy and download buttons, and how to use each."""
    return _overview(request)


@customer_page
@require_GET
def download(request, fmt: str):
    form = DownloadForm({"format": fmt, "omit_default_regions": request.GET.get("omit", "")})
    if not form.is_valid():
        return _overview(request, refused=ServiceError(_("Unknown format; use tailscale, headscale "
                                                         "or json."), code="invalid_format"))
    try:
        body, content_type, filename = services.download(
            user=request.user, fmt=fmt, ip=client_ip(request),
            omit_default_regions=form.cleaned_data["omit_default_regions"])
    except ServiceError as error:
        return _overview(request, refused=error)
    return attachment(body, content_type, filename)


# --- Devices ---------------------------------------------------------------------------------

def _devices_page(request, *, form=None, status: int = 200, problem: tuple[int, str] | None = None):
    """The list and the add form; `problem` is (device id, message) of a refused rename."""
    user = request.user
    rows = [{"device": device, "problem": problem[1] if problem and problem[0] == device.pk else ""}
            for device in Device.objects.filter(user=user)]
    return render(request, "acl/devices.html", {
        "form": form or DeviceForm(), "rows": rows, "max_devices": services.max_devices_for(user),
    }, status=status)


def _no_such_device(request):
    messages.error(request, _("No such device."))
    return _devices_page(request, status=404)


@customer_page
def devices(request):
    """The customer's devices; POST adds one."""
    if request.method != "POST":
        return _devices_page(request)
    form = DeviceForm(request.POST)
    if not form.is_valid():
        return _devices_page(request, form=form, status=400)
    try:
        device = services.add_device(user=request.user, name=form.cleaned_data["name"],
                                     node_key=form.cleaned_data["node_key"], ip=client_ip(request))
    except ServiceError as error:
        form.add_error(None, error.message)
        return _devices_page(request, form=form, status=error.status)
    messages.success(request, _("Device %(name)s added: it can now use your relays.")
                     % {"name": device.name})
    return redirect("acl:devices")


def _own_device(request, pk: int) -> Device | None:
    return Device.objects.visible_to(request.user).filter(pk=pk).first()


@customer_page
@require_POST
def rename_device(request, pk: int):
    device = _own_device(request, pk)
    if device is None:
        return _no_such_device(request)
    form = RenameForm(request.POST)
    try:
        services.rename_device(actor=request.user, device=device,
                               name=form.cleaned_data["name"] if form.is_valid() else "",
                               ip=client_ip(request))
    except ServiceError as error:
        return _devices_page(request, status=error.status, problem=(device.pk, error.message))
    messages.success(request, _("Device renamed to %(name)s.") % {"name": device.name})
    return redirect("acl:devices")


@customer_page
@require_POST
def remove_device(request, pk: int):
    device = _own_device(request, pk)
    if device is None:
        return _no_such_device(request)
    services.remove_device(actor=request.user, device=device, ip=client_ip(request))
    messages.success(request, _("Device %(name)s removed: it can no longer use your relays.")
                     % {"name": device.name})
    return redirect("acl:devices")


# --- The derpMap URL -------------------------------------------------------------------------

@customer_page
@require_POST
def rotate_feed(request):
    services.rotate_feed(user=request.user, ip=client_ip(request))
    messages.success(request, _("Your derpMap URL has changed and the old one no longer works: "
                                "give Headscale the new one (derp.urls)."))
    return redirect("acl:overview")


@require_GET
def feed(request, token: str):
    """GET /acl/feed/<token>.json: the current DERPMap JSON for Headscale's derp.urls. The secret
    token is the authentication; a refusal is the API's JSON error."""
    try:
        body = services.feed(token, ip=client_ip(request))
    except ServiceError as error:
        return JsonResponse(error_body(error.code, error.message, error.fields), status=error.status)
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response
