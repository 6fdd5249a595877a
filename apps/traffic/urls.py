"""Traffic's routes: /api/container/<id>/traffic, /api/user/<id>/traffic, /metrics and pages."""

from django.urls import path

from . import api, metrics, usage_api, views

app_name = "traffic"

urlpatterns = [
    # --- Showing traffic (api.py, views.py) and the Prometheus endpoint (metrics.py) ---
    path("api/container/<int:pk>/traffic", api.ContainerTrafficView.as_view(),
         name="api-container"),
    path("api/user/me/traffic", api.UserTrafficView.as_view(), name="api-me"),
    path("api/user/<int:pk>/traffic", api.UserTrafficView.as_view(), name="api-user"),
    path("ops/traffic/", views.ops_traffic, name="ops"),
    path("metrics", metrics.metrics, name="metrics"),
    # --- Abnormal usage: ops mark it expected (usage_api.py) ---
    path("api/monitoring/alerts/<int:pk>/expected", usage_api.ExpectedView.as_view(),
         name="api-alert-expected"),
]
