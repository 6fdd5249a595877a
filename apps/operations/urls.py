from django.urls import path

from . import api, views

app_name = "operations"

urlpatterns = [
    path("ops/operations/", views.operation_list, name="list"),
    path("ops/operations/<int:pk>/", views.operation_detail, name="detail"),
    path("ops/operations/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("api/operations", api.OperationListView.as_view(), name="api-list"),
    path("api/operations/<int:pk>", api.OperationDetailView.as_view(), name="api-detail"),
    path("api/operations/<int:pk>/cancel", api.CancelView.as_view(), name="api-cancel"),
]
