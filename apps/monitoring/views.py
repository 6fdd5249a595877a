"""The operators' monitoring pages: alert history and one alert (acknowledge it there), the load
analysis, and the speed test button of a server's page. Who may do what is the policy's: anyone
outside the staff gets 404, anonymous visitors the sign-in page."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.accounts.policy import page_requires, require_page
from apps.operations.views import tell_queued
from apps.servers.models import Server
from derpmgr.errors import ServiceError, show_on_form
from derpmgr.net import client_ip

from . import load, services, speedtest
from .forms_filters import MAX_ID, AcknowledgeForm, AlertFilterForm, by_urgency
from .models import Alert, TargetKind

PAGE_SIZE = 50


def target_url(alert: Alert) -> str:
    """Where the alert's target is shown: its server's page, the customer's, or none."""
    if alert.target_kind == TargetKind.CUSTOMER and alert.target_id:
        return reverse("rentals:customer", args=[alert.target_id])
    if alert.server_id:
        return reverse("servers:detail", args=[alert.server_id])
    return ""


DASHBOARD_ALERTS = 20


def open_alerts(user) -> dict:
    """The ops dashboard's part: the open alerts, critical first, and how many there are (always
    counted, so that the page runs the same queries however many are open)."""
    alerts = by_urgency(Alert.objects.visible_to(user).open().select_related("acknowledged_by"))
    shown = list(alerts[:DASHBOARD_ALERTS])
    for alert in shown:
        alert.target_url = target_url(alert)
    return {"open_alerts": shown, "open_alert_count": alerts.count()}


@page_requires("monitoring.view_alert")
def alert_list(request):
    form = AlertFilterForm(request.GET or None)
    alerts = Alert.objects.visible_to(request.user).select_related("acknowledged_by")
    if not form.is_bound:
        form = AlertFilterForm({"state": "open"})
    alerts = form.apply(alerts) if form.is_valid() else alerts.none()
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    for alert in page.object_list:
        alert.target_url = target_url(alert)
    return render(request, "monitoring/alerts.html", {"form": form, "page": page},
                  status=400 if form.errors else 200)


@page_requires("monitoring.view_alert")
def alert_detail(request, pk):
    alert = get_object_or_404(Alert.objects.visible_to(request.user).select_related(
        "acknowledged_by"), pk=pk if 0 < pk <= MAX_ID else 0)
    form, status = AcknowledgeForm(), 200
    if request.method == "POST":
        require_page(request.user, "monitoring.acknowledge_alert")
        form = AcknowledgeForm(request.POST)
        if form.is_valid():
            try:
                services.acknowledge(actor=request.user, alert=alert,
                                     note=form.cleaned_data["note"], ip=client_ip(request))
            except ServiceError as error:
                show_on_form(form, error)
                status = error.status
            else:
                messages.success(request, _("Acknowledged."))
                return redirect("monitoring:alert", pk=alert.pk)
        else:
            status = 400
    deliveries = alert.deliveries.select_related("channel").order_by("created_at", "id")
    return render(request, "monitoring/alert.html", {
        "alert": alert, "form": form, "deliveries": deliveries,
        "target_url": target_url(alert)}, status=status)


@page_requires("servers.view_server", "monitoring.view_alert")
def load_page(request):
    return render(request, "monitoring/load.html", {"analysis": load.analyse(viewer=request.user)})


@page_requires("servers.operate_server")
def speed_test(request, pk):
    """The server page's button: queue a speed test and come back to follow it there."""
    server = get_object_or_404(Server.objects.visible_to(request.user), pk=pk)
    if request.method != "POST":
        return redirect("servers:detail", pk=server.pk)
    try:
        operation = speedtest.request(actor=request.user, server=server, ip=client_ip(request))
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        tell_queued(request, [operation])
    return redirect(reverse("servers:detail", args=[server.pk]) + "#speed-test")
