"""Every kind of page is sent with the Content-Security-Policy and passes it: no inline script,
style or event handler anywhere (their behaviour lives in static/js/app.js, their looks in
static/css/app.css), for each persona's pages, the Django admin included."""

import pytest
from django.test import Client

from tests.conftest import signed_in_client
from tests.project.csp import assert_csp_clean

pytestmark = pytest.mark.django_db

ANONYMOUS = ["/", "/accounts/login/", "/accounts/register/", "/accounts/password/reset/",
             "/accounts/verify/resend/"]
CUSTOMER = ["/accounts/me/", "/accounts/profile/", "/accounts/mfa/", "/acl/", "/acl/devices/",
            "/billing/activate/", "/billing/buy/", "/billing/orders/", "/billing/balance/",
            "/relays/mine/"]
DISTRIBUTOR = ["/portal/", "/portal/codes/", "/portal/codes/generate/", "/portal/orders/",
               "/portal/ledger/"]
STAFF = ["/ops/", "/ops/audit/", "/ops/servers/", "/ops/servers/add/", "/ops/alerts/",
         "/ops/load/", "/ops/operations/", "/ops/traffic/", "/ops/finance/", "/admin/",
         "/admin/accounts/user/", "/admin/accounts/user/add/"]


@pytest.mark.parametrize("path", ANONYMOUS)
def test_anonymous_pages_pass_the_policy(path):
    response = Client().get(path)

    assert response.status_code == 200
    assert_csp_clean(response)


@pytest.mark.parametrize("path", CUSTOMER)
def test_customer_pages_pass_the_policy(customer, path):
    response = signed_in_client(customer).get(path)

    assert response.status_code in (200, 403), (path, response.status_code)  # 403: no rental yet
    assert_csp_clean(response)


@pytest.mark.parametrize("path", DISTRIBUTOR)
def test_distributor_pages_pass_the_policy(distributor, path):
    response = signed_in_client(distributor).get(path)

    assert response.status_code == 200, (path, response.status_code)
    assert_csp_clean(response)


@pytest.mark.parametrize("path", STAFF)
def test_staff_pages_and_the_admin_pass_the_policy(superadmin, path):
    response = signed_in_client(superadmin).get(path)

    assert response.status_code == 200, (path, response.status_code)
    assert_csp_clean(response)


def test_error_pages_pass_the_policy(customer):
    response = signed_in_client(customer).get("/ops/")

    assert response.status_code == 404
    assert_csp_clean(response)


def test_the_api_docs_page_passes_the_policy(superadmin):
    """Swagger UI from the sidecar's static files, as SpectacularSwaggerSplitView serves it."""
    from django.test import override_settings
    from django.urls import include, path
    from drf_spectacular.settings import patched_settings
    from drf_spectacular.views import SpectacularSwaggerSplitView

    import derpmgr.urls

    class Urls:
        urlpatterns = [path("docs-under-test/", SpectacularSwaggerSplitView.as_view(
            url_name="api:schema"), name="docs-under-test"),
            path("", include(derpmgr.urls.urlpatterns))]

    with override_settings(ROOT_URLCONF=Urls), patched_settings({
            "SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR"}):
        client = signed_in_client(superadmin)
        page = client.get("/docs-under-test/")
        script = client.get("/docs-under-test/", {"script": ""})

    assert page.status_code == 200
    assert_csp_clean(page)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page.content.decode()  # no CDN
    assert "/static/css/swagger.css" in page.content.decode()
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
