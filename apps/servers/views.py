"""The operators' server pages: the list, adding a server, one server with its relays, and the
actions on it (each confirmed on its own page first). Staff only: anyone else gets 404,
anonymous visitors the sign-in page. Views parse, call one service, render."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.containers import services as containers
from apps.containers.models import DerpInstance
from derpmgr.errors import ServiceError
from derpmgr.net import client_ip

from . import drivers, services
from .forms import AddServerForm, RepinForm, apply_service_error
from .models import Server


def staff_required(view):
    """Signed in (else the sign-in page) and an admin or super admin (else 404)."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.is_staff_role:
            raise Http404
        return view(request, *args, **kwargs)

    return login_required(guarded)


def _visible(request, pk: int) -> Server:
    return get_object_or_404(services.with_relay_counts(Server.objects.visible_to(request.user)),
                             pk=pk)


def _fingerprint(server: Server) -> str:
    return drivers.host_key_fingerprint(server.ssh_host_key) if server.ssh_host_key else ""


@staff_required
def server_list(request):
    servers = services.with_relay_counts(Server.objects.visible_to(request.user))
    return render(request, "ops/servers/list.html", {"servers": servers})


@staff_required
def add(request):
    form = AddServerForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_bound and form.is_valid():
        try:
            server = services.add_server(actor=request.user, data=form.new_server(),
                                         ip=client_ip(request))
        except ServiceError as error:
            apply_service_error(form, error)
            status = error.status
        else:
            messages.success(request, _("%(name)s was added. Its SSH host key %(fingerprint)s is "
                                        "pinned: check it against the server's console.")
                             % {"name": server.name, "fingerprint": _fingerprint(server)})
            return redirect("servers:detail", pk=server.pk)
    elif form.is_bound:
        status = 400
    return render(request, "ops/servers/add.html", {"form": form}, status=status)


@staff_required
def detail(request, pk):
    server = _visible(request, pk)
    relays = (DerpInstance.objects.visible_to(request.user).live().filter(server=server)
              .select_related("user").order_by("port"))
    return render(request, "ops/servers/detail.html", {
        "server": server, "relays": relays, "host_key_fingerprint": _fingerprint(server)})


# --- Actions: GET asks, POST does ------------------------------------------------------------

def _confirm(request, server, *, title, question, button, form=None, error="", status=200):
    return render(request, "ops/servers/confirm.html", {
        "server": server, "title": title, "question": question, "button": button, "form": form,
        "error": error}, status=status)


def _reconcile_summary(report) -> str:
    parts = []
    for label, items in ((_("started"), report.started), (_("stopped"), report.stopped),
                         (_("orphans removed"), report.removed_orphans),
                         (_("re-created"), report.recreated)):
        if items:
            parts.append(f"{label}: {', '.join(items)}")
    if report.finished_removals:
        parts.append(_("removals finished: %(n)d") % {"n": len(report.finished_removals)})
    return "; ".join(parts)


@staff_required
def reconcile(request, pk):
    server = _visible(request, pk)
    if request.method != "POST":
        return _confirm(request, server, title=_("Reconcile %(name)s") % {"name": server.name},
                        question=_("Compare the relays in the database with the containers on "
                                   "the server, start or stop what differs, re-create what is "
                                   "missing and remove orphans?"), button=_("Reconcile"))
    report = containers.reconcile_server(server=server, actor=request.user)
    if report.error:
        messages.error(request, _("The server could not be reconciled: %(why)s")
                       % {"why": report.error})
    elif report.changed:
        messages.success(request, _("Reconciled: %(what)s.") % {"what": _reconcile_summary(report)})
    else:
        messages.success(request, _("Reconciled: the server already matched the database."))
    return redirect("servers:detail", pk=server.pk)


@staff_required
def drain(request, pk):
    server = _visible(request, pk)
    if request.method != "POST":
        return _confirm(request, server, title=_("Drain %(name)s") % {"name": server.name},
                        question=_("Move every relay on this server to other servers? It takes "
                                   "no new relays until its status is set back to healthy."),
                        button=_("Drain"))
    report = containers.drain_server(actor=request.user, server=server, ip=client_ip(request))
    messages.success(request, ngettext("%(n)d relay moved.", "%(n)d relays moved.",
                                       len(report.moved)) % {"n": len(report.moved)})
    for instance_id, why in report.failed.items():
        messages.error(request, _("Relay %(id)d could not be moved: %(why)s")
                       % {"id": instance_id, "why": why})
    return redirect("servers:detail", pk=server.pk)


@staff_required
def repin(request, pk):
    server = _visible(request, pk)
    form = RepinForm(request.POST if request.method == "POST" else None)
    title = _("Re-pin the host key of %(name)s") % {"name": server.name}
    question = _("Accept the SSH host key the server presents now? Do this only when you know "
                 "why it changed (a reinstall, say): a changed key can also mean someone is "
                 "intercepting the connection.")
    if not form.is_bound:
        return _confirm(request, server, title=title, question=question, button=_("Re-pin"),
                        form=form)
    if not form.is_valid():
        return _confirm(request, server, title=title, question=question, button=_("Re-pin"),
                        form=form, status=400)
    try:
        seen = services.repin_host_key(actor=request.user, server=server,
                                       expected_fingerprint=form.cleaned_data["expected_fingerprint"],
                                       ip=client_ip(request))
    except ServiceError as error:
        return _confirm(request, server, title=title, question=question, button=_("Re-pin"),
                        form=form, error=error.message, status=error.status)
    messages.success(request, _("Host key %(fingerprint)s pinned.") % {"fingerprint": seen})
    return redirect("servers:detail", pk=server.pk)


@staff_required
def delete(request, pk):
    server = _visible(request, pk)
    title = _("Delete %(name)s") % {"name": server.name}
    question = _("Remove the panel's containers, certificates and files from this server and "
                 "forget it? Only an empty (or drained) server can be deleted.")
    if request.method != "POST":
        return _confirm(request, server, title=title, question=question, button=_("Delete"))
    try:
        services.delete_server(actor=request.user, server=server, ip=client_ip(request))
    except ServiceError as error:
        return _confirm(request, server, title=title, question=question, button=_("Delete"),
                        error=error.message, status=error.status)
    messages.success(request, _("%(name)s was deleted.") % {"name": server.name})
    return redirect("servers:list")


@staff_required
def check(request, pk):
    """Check now: SSH response time and the engine's version (nothing is recorded)."""
    server = _visible(request, pk)
    if request.method == "POST":
        probe = services.probe_health(server=server)
        if probe.ok:
            messages.success(request, _("SSH answered in %(ms)s ms; container engine %(version)s.")
                             % {"ms": probe.ssh_ms, "version": probe.engine_version})
        else:
            messages.error(request, _("The check failed: %(why)s") % {"why": probe.error})
    return redirect("servers:detail", pk=server.pk)
