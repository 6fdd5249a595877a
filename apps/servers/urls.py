"""The fleet's routes: the operators' pages under /ops/servers/ and the API under /api/server/."""

from django.urls import path

from . import api, views

app_name = "servers"

urlpatterns = [
    path("ops/servers/", views.server_list, name="list"),
    path("ops/servers/add/", views.add, name="add"),
    path("ops/servers/<int:pk>/", views.detail, name="detail"),
    path("ops/servers/<int:pk>/check/", views.check, name="check"),
    path("ops/servers/<int:pk>/reconcile/", views.reconcile, name="reconcile"),
    path("ops/servers/<int:pk>/drain/", views.drain, name="drain"),
    path("ops/servers/<int:pk>/repin/", views.repin, name="repin"),
    path("ops/servers/<int:pk>/delete/", views.delete, name="delete"),
    path("api/server/add", api.AddServerView.as_view(), name="api-add"),
    path("api/server/list", api.ServerListView.as_view(), name="api-list"),
    path("api/server/health_check", api.HealthCheckView.as_view(), name="api-health-check"),
    path("api/server/<int:pk>", api.ServerDetailView.as_view(), name="api-detail"),
    path("api/server/<int:pk>/repin", api.RepinView.as_view(), name="api-repin"),
    path("api/server/<int:pk>/status", api.StatusView.as_view(), name="api-status"),
    path("api/server/<int:pk>/reconcile", api.ReconcileView.as_view(), name="api-reconcile"),
    path("api/server/<int:pk>/drain", api.DrainView.as_view(), name="api-drain"),
]
