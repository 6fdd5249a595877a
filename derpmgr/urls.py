from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from apps.accounts import api as accounts_api
from apps.accounts import views as accounts_views
from apps.audit import api as audit_api
from apps.audit import views as audit_views
from apps.notifications import api as notifications_api
from derpmgr.api import json_not_found

api_patterns = [
    path("user/register", accounts_api.RegisterView.as_view(), name="user-register"),
    path("user/verify", accounts_api.VerifyEmailView.as_view(), name="user-verify"),
    path("user/resend_verification", accounts_api.ResendVerificationView.as_view(),
         name="user-resend-verification"),
    path("user/login", accounts_api.LoginView.as_view(), name="user-login"),
    path("user/logout", accounts_api.LogoutView.as_view(), name="user-logout"),
    path("user/me", accounts_api.MeView.as_view(), name="user-me"),
    path("logs/system", audit_api.SystemLogView.as_view(), name="logs-system"),
    path("notifications/send", notifications_api.SendView.as_view(), name="notifications-send"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("<path:unknown>", json_not_found),
]

urlpatterns = [
    path("", accounts_views.home, name="home"),
    path("accounts/", include("apps.accounts.urls")),
    path("portal/", include("apps.distribution.urls")),
    path("ops/", audit_views.ops_dashboard, name="ops-dashboard"),
    path("ops/audit/", audit_views.system_log, name="ops-audit"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include((api_patterns, "api"))),
]
