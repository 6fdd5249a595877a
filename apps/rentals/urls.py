"""The operators' page of a customer's rental (the API's routes are in derpmgr/urls.py)."""

from django.urls import path

from . import views

app_name = "rentals"

urlpatterns = [
    path("ops/customers/<int:pk>/", views.customer, name="customer"),
    path("ops/customers/<int:pk>/renew/", views.renew, name="renew"),
    path("ops/customers/<int:pk>/suspend/", views.suspend, name="suspend"),
    path("ops/customers/<int:pk>/resume/", views.resume, name="resume"),
    path("ops/customers/<int:pk>/delete/", views.delete, name="delete"),
]
