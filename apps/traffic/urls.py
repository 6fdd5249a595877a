"""Traffic's routes: /api/container/<id>/traffic, /api/user/<id>/traffic, /metrics and pages."""

from django.urls import path

from . import usage_api

app_name = "traffic"

urlpatterns = [
    # --- Abnormal usage: ops mark it expected (usage_api.py) ---
    path("api/monitoring/alerts/<int:pk>/expected", usage_api.ExpectedView.as_view(),
         name="api-alert-expected"),
]
