"""Monitoring's routes: the operators' pages under /ops/ and the API under /api/monitoring/."""

from django.urls import path

from . import api, config_api, views

app_name = "monitoring"

urlpatterns = [
    # --- What operators see and ask for (pages, API, speed test) ---
    path("ops/alerts/", views.alert_list, name="alerts"),
    path("ops/alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("ops/load/", views.load_page, name="load"),
    path("ops/servers/<int:pk>/speed-test/", views.speed_test, name="speed-test"),
    path("api/monitoring/alerts", api.AlertListView.as_view(), name="api-alerts"),
    path("api/monitoring/alerts/<int:pk>", api.AlertDetailView.as_view(), name="api-alert"),
    path("api/monitoring/alerts/<int:pk>/acknowledge", api.AcknowledgeView.as_view(),
         name="api-acknowledge"),
    path("api/monitoring/load_analysis", api.LoadAnalysisView.as_view(), name="api-load"),
    path("api/server/<int:pk>/metrics", api.MetricsView.as_view(), name="api-metrics"),
    path("api/server/<int:pk>/speed_test", api.SpeedTestView.as_view(), name="api-speed-test"),
    # --- Alert channels and thresholds (super admins; config_api.py) ---
    path("api/monitoring/channels", config_api.ChannelListView.as_view(), name="api-channels"),
    path("api/monitoring/channels/<int:pk>", config_api.ChannelDetailView.as_view(),
         name="api-channel"),
    path("api/monitoring/channels/<int:pk>/test", config_api.ChannelTestView.as_view(),
         name="api-channel-test"),
    path("api/monitoring/settings", config_api.SettingsView.as_view(), name="api-settings"),
]
