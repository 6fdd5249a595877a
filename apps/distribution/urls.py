from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("codes/", views.code_list, name="codes"),
    path("codes.csv", views.codes_csv, name="codes-csv"),
    path("codes/generate/", views.generate, name="generate"),
    path("codes/generate/confirm/", views.confirm_generate, name="generate-confirm"),
    path("codes/generated/<order:number>/", views.generated, name="generated"),
    path("codes/revoke/", views.revoke, name="revoke"),
    path("orders/", views.orders, name="orders"),
]
