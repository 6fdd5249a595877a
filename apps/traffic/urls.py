"""Traffic's routes: /api/container/<id>/traffic, /api/user/<id>/traffic, /metrics and pages."""

from django.urls import path  # noqa: F401

app_name = "traffic"

urlpatterns = [
]
