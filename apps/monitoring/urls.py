"""Monitoring's routes: the operators' pages under /ops/ and the API under /api/monitoring/."""

from django.urls import path  # noqa: F401

app_name = "monitoring"

urlpatterns = [
]
