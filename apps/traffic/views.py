"""The operators' traffic page: top customers this month and top servers this quota month."""

from django.shortcuts import render

from apps.accounts.policy import page_requires
from apps.servers.models import Server

from . import series

TOP = 20


@page_requires("servers.view_server")
def ops_traffic(request):
    servers = (Server.objects.visible_to(request.user).filter(traffic_month_bytes__gt=0)
               .order_by("-traffic_month_bytes", "pk")[:TOP])
    return render(request, "traffic/ops_traffic.html", {
        "customers": series.top_customers(limit=TOP), "servers": servers,
        "month_start": series.month_start()})
