"""The customer's relay progress: a fragment the "My rental" page loads with htmx and that
polls itself while a relay is being set up or moved (a whole page when opened directly)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from apps.accounts.models import Role
from apps.operations.models import Operation

from . import services
from .api import customer_relays
from .models import InstanceStatus

# While any relay is in one of these, the fragment asks again in a few seconds.
IN_PROGRESS = (InstanceStatus.PENDING, InstanceStatus.MIGRATING)


@login_required
def my_relays(request):
    if request.user.role != Role.USER:
        raise Http404
    relays = customer_relays(request.user)
    under_way = list(Operation.objects.visible_to(request.user).active().order_by("created_at"))
    template = "containers/_my_relays.html" if request.htmx else "containers/my_relays.html"
    return render(request, template, {
        "rows": [{"relay": relay, "message": services.user_message(relay)} for relay in relays],
        "under_way": under_way,
        "polling": bool(under_way) or any(relay.status in IN_PROGRESS for relay in relays),
    })
