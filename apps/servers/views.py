"""The operators' server pages: the list, adding a server, one server with its relays and
recent tasks, and the actions on it (each confirmed on its own page first). Each action queues
an operation and leads to its page, which follows the progress. Who may do what is the policy's
(apps.accounts.policy): anyone outside the staff gets 404, anonymous visitors the sign-in page.
Views parse, call one service, render."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from apps.accounts.policy import page_requires
from apps.containers import requests as relay_requests
from apps.containers.models import DerpInstance
from apps.operations.models import Operation
from apps.operations.views import tell_queued
from derpmgr.errors import ServiceError, show_on_form
from derpmgr.net import client_ip

from . import drivers, requests, services
from .filters import ServerFilterForm
from .forms import AddServerForm, RepinForm
from .models import Server

RECENT_OPERATIONS = 10
PAGE_SIZE = 50


def _visible(request, pk: int) -> Server:
    return get_object_or_404(services.with_relay_counts(Server.objects.visible_to(request.user)),
                             pk=pk)


def _fingerprint(server: Server) -> str:
    return drivers.host_key_fingerprint(server.ssh_host_key) if server.ssh_host_key else ""


@page_requires("servers.view_server")
def server_list(request):
    """A page of servers at a time (by name), filtered; the relay counts are the page's only."""
    form = ServerFilterForm(request.GET or None)
    servers = Server.objects.visible_to(request.user)
    if form.is_bound:
        servers = form.apply(servers) if form.is_valid() else servers.none()
    page = Paginator(servers.order_by("name"), PAGE_SIZE).get_page(request.GET.get("page"))
    # Counted for the page's servers only: on the sliced query, PostgreSQL would count the
    # relays of every server skipped by the OFFSET too.
    ids = list(page.object_list.values_list("pk", flat=True))
    page.object_list = list(services.with_relay_counts(Server.objects.filter(pk__in=ids))
                            .order_by("name"))
    return render(request, "ops/servers/list.html", {"form": form, "page": page},
                  status=400 if form.errors else 200)


@page_requires("servers.add_server")
@never_cache  # a form sent back with errors carries the pasted credential: no cache keeps it
def add(request):
    form = AddServerForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_bound and form.is_valid():
        try:
            server, operation = requests.add(actor=request.user, data=form.new_server(),
                                             ip=client_ip(request))
        except ServiceError as error:
            show_on_form(form, error)
            status = error.status
        else:
            messages.success(request, _("%(name)s is being set up: the panel connects, pins its "
                                        "SSH host key (check it against the server's console), "
                                        "checks the container engine and uploads the "
                                        "certificate.") % {"name": server.name})
            return redirect("operations:detail", pk=operation.pk)
    elif form.is_bound:
        status = 400
    return render(request, "ops/servers/add.html", {"form": form}, status=status)


@page_requires("servers.view_server")
def detail(request, pk):
    server = _visible(request, pk)
    relays = (DerpInstance.objects.visible_to(request.user).live().filter(server=server)
              .select_related("user").order_by("port"))
    operations = (Operation.objects.visible_to(request.user).about(server=server)
                  .select_related("requested_by")[:RECENT_OPERATIONS])
    return render(request, "ops/servers/detail.html", {
        "server": server, "relays": relays, "host_key_fingerprint": _fingerprint(server),
        "operations": operations})


# --- Actions: GET asks, POST does ------------------------------------------------------------

def _confirm(request, server, *, title, question, button, form=None, error="", status=200):
    return render(request, "ops/servers/confirm.html", {
        "server": server, "title": title, "question": question, "button": button, "form": form,
        "error": error}, status=status)


def _queued(request, server, ask, **confirm):
    """POST: queue the work and go to its page; a refusal shows on the confirmation page."""
    try:
        operation = ask()
    except ServiceError as error:
        return _confirm(request, server, error=error.message, status=error.status, **confirm)
    tell_queued(request, [operation])
    return redirect("operations:detail", pk=operation.pk)


@page_requires("servers.operate_server")
def reconcile(request, pk):
    server = _visible(request, pk)
    confirm = dict(title=_("Reconcile %(name)s") % {"name": server.name},
                   question=_("Compare the relays in the database with the containers on the "
                              "server, start or stop what differs, re-create what is missing "
                              "and remove orphans?"), button=_("Reconcile"))
    if request.method != "POST":
        return _confirm(request, server, **confirm)
    return _queued(request, server, lambda: relay_requests.reconcile(
        actor=request.user, server=server, ip=client_ip(request)), **confirm)


@page_requires("servers.operate_server")
def drain(request, pk):
    server = _visible(request, pk)
    confirm = dict(title=_("Drain %(name)s") % {"name": server.name},
                   question=_("Move every relay on this server to other servers? It takes no new "
                              "relays until its status is set back to healthy."),
                   button=_("Drain"))
    if request.method != "POST":
        return _confirm(request, server, **confirm)
    return _queued(request, server, lambda: relay_requests.drain(
        actor=request.user, server=server, ip=client_ip(request)), **confirm)


@page_requires("servers.change_server")
def repin(request, pk):
    server = _visible(request, pk)
    form = RepinForm(request.POST if request.method == "POST" else None)
    confirm = dict(title=_("Re-pin the host key of %(name)s") % {"name": server.name},
                   question=_("Accept the SSH host key the server presents now? Do this only "
                              "when you know why it changed (a reinstall, say): a changed key "
                              "can also mean someone is intercepting the connection."),
                   button=_("Re-pin"), form=form)
    if not form.is_bound:
        return _confirm(request, server, **confirm)
    if not form.is_valid():
        return _confirm(request, server, status=400, **confirm)
    return _queued(request, server, lambda: requests.repin(
        actor=request.user, server=server,
        expected_fingerprint=form.cleaned_data["expected_fingerprint"], ip=client_ip(request)),
        **confirm)


@page_requires("servers.delete_server")
def delete(request, pk):
    server = _visible(request, pk)
    confirm = dict(title=_("Delete %(name)s") % {"name": server.name},
                   question=_("Remove the panel's containers, certificates and files from this "
                              "server and forget it? Only an empty (or drained) server can be "
                              "deleted."), button=_("Delete"))
    if request.method != "POST":
        return _confirm(request, server, **confirm)
    return _queued(request, server, lambda: requests.delete(
        actor=request.user, server=server, ip=client_ip(request)), **confirm)


@page_requires("servers.operate_server")
def check(request, pk):
    """Check now: SSH response time and the engine's version, by a worker."""
    server = _visible(request, pk)
    if request.method != "POST":
        return redirect("servers:detail", pk=server.pk)
    tell_queued(request, [requests.probe(actor=request.user, servers=[server],
                                         ip=client_ip(request))])
    return redirect("servers:detail", pk=server.pk)
