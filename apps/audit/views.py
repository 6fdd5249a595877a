from django.shortcuts import render

from apps.accounts import policy
from derpmgr.paging import UncountedPage

from .filters import AuditFilterForm
from .models import AuditEvent

PAGE_SIZE = 50


@policy.page_requires("audit.view_auditevent")
def system_log(request):
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.visible_to(request.user)
    if form.is_bound and form.is_valid():
        events = form.apply(events)
    elif form.is_bound:
        events = events.none()
    # No count of the log (100,000 events and growing): the page and whether there is a next.
    page = UncountedPage(events.select_related(None), request.GET.get("page"), PAGE_SIZE)
    return render(request, "ops/audit.html", {"form": form, "page": page},
                  status=400 if form.is_bound and form.errors else 200)


RECENT_OPERATIONS = 10


@policy.page_requires(policy.STAFF)
def ops_dashboard(request):
    """The operators' home: the key numbers, the open alerts (critical first), customers who
    need attention (short of relays, relay work pending), the latest operations and the latest
    of the system log, each for those who may read it."""
    from apps.rentals import figures  # the rentals layer sits above this one

    recent = AuditEvent.objects.visible_to(request.user)[:15]
    context = {"recent": recent, "figures": figures.key_numbers(request.user)}
    if policy.can(request.user, "operations.view_operation"):
        from apps.operations.models import Operation

        context["recent_operations"] = (Operation.objects.visible_to(request.user)
                                        .select_related("requested_by")[:RECENT_OPERATIONS])
    if policy.can(request.user, "monitoring.view_alert"):
        from apps.monitoring import views as monitoring  # monitoring sits above this layer

        context.update(monitoring.open_alerts(request.user))
    if policy.can(request.user, "rentals.view_rental"):
        from apps.rentals import status  # the rentals layer sits above this one

        context.update(short_of_relays=status.short_of_relays(request.user),
                       relay_work_pending=status.relay_work_pending(request.user))
    return render(request, "ops/dashboard.html", context)
