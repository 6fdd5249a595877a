"""The relay API (under /api/) and the customer's relay fragment."""

from django.urls import path

from . import api, views

app_name = "containers"

urlpatterns = [
    path("api/container/assign", api.AssignView.as_view(), name="assign"),
    path("api/container/allocate", api.AllocateView.as_view(), name="allocate"),
    path("api/container/stop", api.StopView.as_view(), name="stop"),
    path("api/container/list", api.InstanceListView.as_view(), name="list"),
    path("api/container/mine", api.MineView.as_view(), name="mine"),
    path("api/container/<int:pk>/start", api.StartView.as_view(), name="start"),
    path("api/container/<int:pk>/restart", api.RestartView.as_view(), name="restart"),
    path("api/container/<int:pk>/remove", api.RemoveView.as_view(), name="remove"),
    path("api/container/<int:pk>/migrate", api.MigrateView.as_view(), name="migrate"),
    path("api/ha/failover", api.FailoverView.as_view(), name="failover"),
    path("relays/mine/", views.my_relays, name="my-relays"),
]
