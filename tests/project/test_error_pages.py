"""The 403, 404 and 500 pages: branded, on the site's shell, in zh-hans and English, saying who is
signed in; the 403 names the permission and the roles the page needs; the 500 renders with the
database unreachable and never shows the error. Under /api/ the same errors stay JSON."""

import json

import pytest
from django.test import Client, RequestFactory
from django.utils import translation
from django.utils.translation import gettext as _

from apps.accounts.models import Role
from derpmgr import error_pages
from tests.acl.live_panel import free_port, serve
from tests.conftest import signed_in_client
from tests.project import crashing_urls
from tests.project.csp import assert_csp_clean
from tests.project.test_unavailable import get, panel_env, unreachable_database_url

LANGUAGES = ["zh-hans", "en"]
LEAKS = ("Traceback", "RuntimeError", crashing_urls.SECRET_CAUSE, 'File "')


def in_language(client: Client, language: str) -> Client:
    client.cookies["django_language"] = language
    return client


def assert_branded(response, language: str, status: int, title: str) -> str:
    """The site's shell in `language`, the page's title translated, CSP-clean, nothing leaked."""
    assert response.status_code == status
    body = response.content.decode()
    assert f'<html lang="{language}">' in body
    assert '<header class="topbar">' in body and '<a class="brand"' in body
    with translation.override(language):
        assert f"<h1>{_(title)}</h1>" in body
    assert_csp_clean(response)
    assert not [leak for leak in LEAKS if leak in body]
    return body


# --- 404 ----------------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_visitor_gets_the_404_page_and_a_way_to_sign_in(language):
    body = assert_branded(in_language(Client(), language).get("/no-such-page/"), language, 404,
                          "Page not found")
    with translation.override(language):
        assert _("You are not signed in.") in body
    assert 'class="button primary" href="/accounts/login/"' in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_customer_gets_the_404_page_in_their_own_shell_with_their_name(customer, language):
    body = assert_branded(in_language(signed_in_client(customer), language).get("/no-such-page/"),
                          language, 404, "Page not found")
    assert customer.email in body
    with translation.override(language):
        assert _("You are signed in as <strong>%(email)s</strong> (%(role)s).") % {
            "email": customer.email, "role": Role.USER.label} in body
        assert _("Sign out") in body and _("My rental") in body  # the customer's menu
    assert 'href="/"' in body  # the way home
    assert 'id="menu-toggle"' in body and 'id="sign-out"' in body


def test_the_404_page_does_not_echo_the_address_asked_for(customer):
    """It may name someone else's object (an order number, a token)."""
    body = assert_branded(signed_in_client(customer).get("/portal/codes/generated/20261129-ABCDEF12/"),
                          "en", 404, "Page not found")
    assert "20261129-ABCDEF12" not in body


def test_another_roles_page_is_the_same_404_page(customer):
    body = assert_branded(signed_in_client(customer).get("/ops/"), "en", 404, "Page not found")
    assert customer.email in body


# --- 403 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
def test_an_admin_without_the_finance_permission_is_told_what_the_page_needs(admin_user, language):
    body = assert_branded(in_language(signed_in_client(admin_user), language).get("/ops/finance/"),
                          language, 403, "Not allowed")
    with translation.override(language):
        assert f'<dd class="permission">{_("Can see the finance statistics")}</dd>' in body
        assert f'<dd class="roles">{Role.SUPERADMIN.label}</dd>' in body  # admins do not hold it
        assert str(Role.ADMIN.label) in body  # who the admin is: "(Admin)"
        assert _("Operations") in body  # the ops menu
    assert admin_user.email in body


def test_a_permission_the_admin_role_carries_names_both_roles(admin_user):
    from django.contrib.auth.models import Group

    Group.objects.get(name=Role.ADMIN).permissions.filter(codename="view_server").delete()
    body = assert_branded(signed_in_client(admin_user).get("/ops/servers/"), "en", 403, "Not allowed")
    assert '<dd class="permission">See servers</dd>' in body
    assert '<dd class="roles">Super admin / Admin</dd>' in body


def test_a_refusal_that_names_nothing_shows_its_message_only(customer):
    """E.g. the Django admin's own refusals: the message, no list of roles."""
    request = RequestFactory().get("/ops/somewhere/")
    request.user = customer
    from django.core.exceptions import PermissionDenied

    response = error_pages.permission_denied(request, PermissionDenied("Not for you, today."))
    body = response.content.decode()
    assert response.status_code == 403
    assert "Not for you, today." in body and 'class="facts needed"' not in body


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_form_sent_without_its_csrf_token_gets_the_403_page_saying_what_to_do(language):
    client = in_language(Client(enforce_csrf_checks=True), language)
    body = assert_branded(client.post("/accounts/login/", {"username": "x"}), language, 403,
                          "Not allowed")
    with translation.override(language):
        assert _("The form could not be sent: the page was open too long or cookies are blocked. "
                 "Reload the page and try again.") in body
    assert "CSRF cookie not set" not in body  # Django's reason is for the log, not the visitor


# --- 500 ----------------------------------------------------------------------------------------

@pytest.fixture
def crashing(settings):
    settings.ROOT_URLCONF = "tests.project.crashing_urls"


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_bug_gives_the_500_page_without_its_details(crashing, language):
    client = in_language(Client(raise_request_exception=False), language)
    body = assert_branded(client.get("/crash/"), language, 500, "Something went wrong")
    with translation.override(language):
        assert _("You are not signed in.") in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_500_page_names_the_user_without_touching_the_database(
        crashing, customer, language, django_db_blocker, monkeypatch):
    monkeypatch.setattr(crashing_urls, "cut_the_database", django_db_blocker.block)
    client = in_language(signed_in_client(customer), language)
    client.raise_request_exception = False
    try:
        response = client.get("/crash-after-loading-the-user/")
    finally:
        django_db_blocker.restore()
    body = assert_branded(response, language, 500, "Something went wrong")
    assert customer.email in body and 'id="sign-out"' in body


def test_a_real_panel_with_its_database_unreachable_renders_the_500_page(tmp_path):
    port = free_port()
    env = panel_env(unreachable_database_url(tmp_path),
                    DJANGO_SETTINGS_MODULE="tests.project.crashing_settings")
    log = tmp_path / "panel.log"
    with serve(bind="127.0.0.1", port=port, env=env, log=log):
        answers = {language: get(port, "/crash/", {"Accept-Language": language})
                   for language in LANGUAGES}
    for language, (status, headers, body) in answers.items():
        assert status == 500, body
        assert headers["Content-Type"].startswith("text/html")
        assert f'<html lang="{language}">' in body and '<a class="brand"' in body
        assert not [leak for leak in LEAKS if leak in body]
    with translation.override("en"):
        assert f"<h1>{_('Something went wrong')}</h1>" in answers["en"][2]


# --- the API keeps its envelopes ------------------------------------------------------------------

@pytest.mark.parametrize(("handler", "status", "code"), [
    (error_pages.page_not_found, 404, "not_found"),
    (error_pages.permission_denied, 403, "forbidden"),
    (error_pages.csrf_failure, 403, "forbidden"),
])
def test_api_errors_stay_json_envelopes(rf, handler, status, code):
    response = handler(rf.get("/api/anything"), None) if handler is not error_pages.csrf_failure \
        else handler(rf.post("/api/anything"), reason="CSRF cookie not set.")
    assert response.status_code == status
    assert json.loads(response.content)["error"]["code"] == code
