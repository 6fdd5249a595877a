from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from apps.accounts.models import Role


@login_required
def dashboard(request):
    if request.user.role != Role.DISTRIBUTOR:
        raise Http404
    return render(request, "portal/dashboard.html")
