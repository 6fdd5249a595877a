from django.contrib import admin
from django.urls import include, path
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.accounts import api as accounts_api
from apps.accounts import views as accounts_views
from apps.acl import admission_view
from apps.audit import api as audit_api
from apps.audit import views as audit_views
from apps.billing import api as billing_api
from apps.billing import finance_views
from apps.distribution import api as distribution_api
from apps.notifications import api as notifications_api
from apps.rentals import api as rentals_api
from derpmgr import converters  # noqa: F401 - registers <urltoken:>, <signed:>, <order:>
from derpmgr.api import IsStaffRole, json_not_found

api_patterns = [
    path("user/register", accounts_api.RegisterView.as_view(), name="user-register"),
    path("user/verify", accounts_api.VerifyEmailView.as_view(), name="user-verify"),
    path("user/resend_verification", accounts_api.ResendVerificationView.as_view(),
         name="user-resend-verification"),
    path("user/login", accounts_api.LoginView.as_view(), name="user-login"),
    path("user/logout", accounts_api.LogoutView.as_view(), name="user-logout"),
    path("user/me", accounts_api.MeView.as_view(), name="user-me"),
    path("user/<int:pk>", rentals_api.UserView.as_view(), name="user-detail"),
    path("user/me/rental", rentals_api.MyRentalView.as_view(), name="user-my-rental"),
    path("user/<int:pk>/rental", rentals_api.RentalView.as_view(), name="user-rental"),
    path("user/<int:pk>/renew", rentals_api.RenewView.as_view(), name="user-renew"),
    path("user/<int:pk>/suspend", rentals_api.SuspendView.as_view(), name="user-suspend"),
    path("user/<int:pk>/resume", rentals_api.ResumeView.as_view(), name="user-resume"),
    path("acl/admit/<urltoken:token>", admission_view.admit, name="acl-admit"),
    path("acl/ping", admission_view.trivial, name="acl-ping"),
    path("logs/system", audit_api.SystemLogView.as_view(), name="logs-system"),
    path("notifications/send", notifications_api.SendView.as_view(), name="notifications-send"),
    path("distributor/serial/generate", distribution_api.DistributorGenerateView.as_view(),
         name="distributor-serial-generate"),
    path("distributor/serials", distribution_api.CodeListView.as_view(), name="distributor-serials"),
    path("serial/generate", distribution_api.AdminGenerateView.as_view(), name="serial-generate"),
    path("serial/activate", distribution_api.RedeemView.as_view(), name="serial-activate"),
    path("serial/revoke", distribution_api.RevokeView.as_view(), name="serial-revoke"),
    path("billing/plans", billing_api.PlanListView.as_view(), name="billing-plans"),
    path("billing/balance", billing_api.BalanceView.as_view(), name="billing-balance"),
    path("billing/purchase", billing_api.PurchaseView.as_view(), name="billing-purchase"),
    path("billing/top_up", billing_api.TopUpView.as_view(), name="billing-top-up"),
    path("orders", billing_api.OrderListView.as_view(), name="orders"),
    path("orders/<order:number>/mark", billing_api.MarkOrderView.as_view(), name="order-mark"),
    path("finance/statistics", billing_api.FinanceStatisticsView.as_view(), name="finance-statistics"),
    path("finance/commission/settle", billing_api.SettleCommissionView.as_view(),
         name="finance-commission-settle"),
    # JSON like the rest of the API (errors included); application/json unless asked otherwise.
    path("schema", SpectacularAPIView.as_view(renderer_classes=[OpenApiJsonRenderer2, OpenApiJsonRenderer]),
         name="schema"),
    # Swagger UI from local static files (drf-spectacular-sidecar), for the staff.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema",
                                                      permission_classes=[IsStaffRole]),
         name="docs"),
    path("", json_not_found),
    path("<path:unknown>", json_not_found),
]

# Branded pages in the visitor's language (derpmgr/error_pages.py); JSON envelopes under /api/.
handler403 = "derpmgr.error_pages.permission_denied"
handler404 = "derpmgr.error_pages.page_not_found"
handler500 = "derpmgr.unavailable.server_error"  # 503 when a part is down, else derpmgr.api's

urlpatterns = [
    path("", accounts_views.home, name="home"),
    path("accounts/", include("apps.accounts.urls")),
    path("portal/", include("apps.distribution.urls")),
    path("billing/", include("apps.billing.urls")),
    path("ops/finance/", finance_views.finance, name="ops-finance"),
    path("ops/", audit_views.ops_dashboard, name="ops-dashboard"),
    path("ops/audit/", audit_views.system_log, name="ops-audit"),
    path("", include("apps.servers.urls")),  # /ops/servers/… pages and /api/server/… routes
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # Relays: /api/container/..., /api/ha/failover and the customer's /relays/mine/ (before the
    # API's catch-all below).
    path("", include("apps.containers.urls")),
    # derpMaps and devices: /acl/… pages, the derpMap URL and /api/acl/… (before the catch-all).
    path("", include("apps.acl.urls")),
    # Remote work as rows: /ops/operations/… pages and /api/operations/… (before the catch-all).
    path("", include("apps.operations.urls")),
    # A customer's rental for the operators: /ops/customers/<id>/ and its actions.
    path("", include("apps.rentals.urls")),
    # Fleet health: /ops/alerts/, /ops/load/ and /api/monitoring/… (before the catch-all).
    path("", include("apps.monitoring.urls")),
    # Traffic: /api/container/<id>/traffic, /api/user/<id>/traffic, /metrics (before the catch-all).
    path("", include("apps.traffic.urls")),
    path("api/", include((api_patterns, "api"))),
]
