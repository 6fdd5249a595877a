"""The ACL pages, the derpMap URL and the ACL API (the admission endpoint and its baseline are
routed with the rest of the API in derpmgr/urls.py)."""

from django.urls import path, re_path

from derpmgr.api import json_not_found

from . import api, views

app_name = "acl"

_ID = r"(?P<pk>[0-9]{1,18})"

urlpatterns = [
    path("acl/", views.overview, name="overview"),
    path("acl/download/<str:fmt>/", views.download, name="download"),
    path("acl/devices/", views.devices, name="devices"),
    re_path(rf"^acl/devices/{_ID}/rename/$", views.rename_device, name="rename-device"),
    re_path(rf"^acl/devices/{_ID}/remove/$", views.remove_device, name="remove-device"),
    path("acl/feed/<urltoken:token>.json", views.feed, name="feed"),
    # Anything else under the feed is not a token we issued: the feed's JSON 404, not a page.
    re_path(r"^acl/feed/", json_not_found),
    path("acl/feed-url/rotate/", views.rotate_feed, name="rotate-feed"),
    path("api/acl/feed/rotate", api.FeedRotateView.as_view(), name="api-rotate-feed"),
    path("api/acl/generate", api.GenerateView.as_view(), name="api-generate"),
    path("api/acl/devices", api.DevicesView.as_view(), name="api-devices"),
    path("api/acl/devices/<int:pk>", api.DeviceView.as_view(), name="api-device"),
    path("api/acl/download", api.DownloadView.as_view(), name="api-download"),
    path("api/acl/logs", api.LogsView.as_view(), name="api-logs"),
]
