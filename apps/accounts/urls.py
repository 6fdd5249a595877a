from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("register/", views.register, name="register"),
    path("verify/resend/", views.resend_verification, name="resend"),
    path("verify/<signed:token>/", views.verify, name="verify"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("mfa/", views.mfa, name="mfa"),
    path("mfa/verify/", views.mfa_verify, name="mfa_verify"),
    path("mfa/start/", views.mfa_start, name="mfa_start"),
    path("mfa/confirm/", views.mfa_confirm, name="mfa_confirm"),
    path("mfa/backup-codes/", views.mfa_backup_codes, name="mfa_backup_codes"),
    path("mfa/disable/", views.mfa_disable, name="mfa_disable"),
    path("profile/", views.profile, name="profile"),
    path("me/", views.dashboard, name="dashboard"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/",
         auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
         name="password_reset_done"),
    path("invitation/<uidb64>/<token>/", views.InvitationView.as_view(), name="invitation"),
    path("password/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
]
