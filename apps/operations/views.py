"""Operations as operators (and customers) follow them: a list, and one operation's page whose
progress part polls itself with htmx while the work runs."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.policy import page_requires
from derpmgr.errors import ServiceError
from derpmgr.net import client_ip

from . import services
from .api import OperationFilterForm, visible_operation
from .models import Operation

LIST_SIZE = 100


@page_requires("operations.view_operation")
def operation_list(request):
    form = OperationFilterForm(request.GET or None)
    operations = Operation.objects.visible_to(request.user).select_related("requested_by")
    if form.is_bound and form.is_valid():
        operations = operations.filter(**{k: v for k, v in form.cleaned_data.items() if v})
    return render(request, "operations/list.html", {"operations": operations[:LIST_SIZE],
                                                    "form": form},
                  status=400 if form.is_bound and form.errors else 200)


def _render_detail(request, operation):
    template = "operations/_progress.html" if request.htmx else "operations/detail.html"
    return render(request, template, {"operation": operation})


@page_requires("operations.view_operation")
def operation_detail(request, pk):
    return _render_detail(request, visible_operation(request.user, pk))


@require_POST
@page_requires("operations.cancel_operation")
def cancel(request, pk):
    operation = visible_operation(request.user, pk)
    try:
        services.cancel(actor=request.user, operation=operation, ip=client_ip(request))
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Cancelled (running work stops at its next safe step)."))
    return redirect("operations:detail", pk=operation.pk)


def tell_queued(request, operations, *, refused=()) -> None:
    """The message a page or admin action leaves after asking for work: which tasks were queued
    (with links to follow them) and what was refused, and why."""
    from django.urls import reverse
    from django.utils.html import format_html, format_html_join

    operations = list(operations)
    if operations:
        links = format_html_join(", ", '<a href="{}">#{}</a>', (
            (reverse("operations:detail", args=[operation.pk]), operation.pk)
            for operation in operations))
        messages.success(request, format_html("{} {}", _("Queued; follow the progress here:"),
                                              links))
    for line in refused:
        messages.error(request, line)
