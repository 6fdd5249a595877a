from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("activate/", views.activate_code, name="activate"),
    path("buy/", views.buy, name="buy"),
    path("buy/confirm/", views.confirm_purchase, name="buy-confirm"),
    path("orders/", views.orders, name="orders"),
    path("balance/", views.balance, name="balance"),
    path("summary/", views.summary, name="summary"),
]
