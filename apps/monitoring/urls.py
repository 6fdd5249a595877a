"""Monitoring's routes: the operators' pages under /ops/ and the API under /api/monitoring/."""

from django.urls import path

from . import config_api

app_name = "monitoring"

urlpatterns = [
    # --- Alert channels and thresholds (super admins; config_api.py) ---
    path("api/monitoring/channels", config_api.ChannelListView.as_view(), name="api-channels"),
    path("api/monitoring/channels/<int:pk>", config_api.ChannelDetailView.as_view(),
         name="api-channel"),
    path("api/monitoring/channels/<int:pk>/test", config_api.ChannelTestView.as_view(),
         name="api-channel-test"),
    path("api/monitoring/settings", config_api.SettingsView.as_view(), name="api-settings"),
]
