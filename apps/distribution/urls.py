from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("codes/", views.code_list, name="codes"),
    path("codes/export/", views.codes_export, name="codes-export"),
    path("exports/<int:pk>/", views.export_detail, name="export"),
    path("exports/<int:pk>/download/", views.export_download, name="export-download"),
    path("codes/generate/", views.generate, name="generate"),
    path("codes/generate/confirm/", views.confirm_generate, name="generate-confirm"),
    path("codes/generated/<order:number>/", views.generated, name="generated"),
    path("codes/revoke/", views.revoke, name="revoke"),
    path("codes/revoke/confirm/", views.revoke_confirm, name="revoke-confirm"),
    path("orders/", views.orders, name="orders"),
    path("orders/<order:number>/", views.order_detail, name="order"),
    path("ledger/", views.ledger, name="ledger"),
]
