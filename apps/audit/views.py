from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from .filters import AuditFilterForm
from .models import AuditEvent


@login_required
def system_log(request):
    if not request.user.is_staff_role:
        raise Http404
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.visible_to(request.user)
    if form.is_bound and form.is_valid():
        events = form.apply(events)
    elif form.is_bound:
        events = events.none()
    page = Paginator(events.select_related(None), 50).get_page(request.GET.get("page"))
    return render(request, "ops/audit.html", {"form": form, "page": page},
                  status=400 if form.is_bound and form.errors else 200)


@login_required
def ops_dashboard(request):
    if not request.user.is_staff_role:
        raise Http404
    recent = AuditEvent.objects.visible_to(request.user)[:15]
    return render(request, "ops/dashboard.html", {"recent": recent})
