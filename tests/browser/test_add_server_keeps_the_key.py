"""An admin, in the browser: an add-server form refused for one field comes back grouped as it
was sent, with everything typed still there, the pasted private key included, so only the
wrong field is corrected before sending it again."""

from apps.servers.models import Server
from tests.browser.support import sign_in
from tests.servers.conftest import (
    CLIENT_KEY,
    SERVER_GRANTS,
    grant,
    remote,  # noqa: F401 - the fixture
)


def test_a_refused_add_keeps_the_pasted_key_for_the_second_try(page, browser_context, panel,
                                                               admin_user, remote,  # noqa: F811
                                                               console_errors):
    grant(admin_user, *SERVER_GRANTS)
    sign_in(browser_context, admin_user, panel=panel)
    page.goto("/ops/servers/add/")
    assert page.locator("fieldset.form-section legend").count() == 4
    page.fill("#id_name", "sh-1")
    page.fill("#id_public_ip", "127.0.0.2")
    page.fill("#id_ssh_port", "30010")  # inside the relay ports: refused
    page.fill("#id_ssh_secret", CLIENT_KEY)
    page.click("main form button[type=submit]")

    page.locator(".has-error #id_port_range_start").wait_for()
    assert page.input_value("#id_ssh_secret").strip() == CLIENT_KEY.strip()
    assert page.input_value("#id_name") == "sh-1"
    page.fill("#id_ssh_port", "2222")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/ops/operations/*/")

    assert Server.objects.filter(name="sh-1").exists()
    # The browser notes the refusal's 400 as a failed load; nothing else may go wrong.
    assert [e for e in console_errors if "status of 400" not in e] == []
