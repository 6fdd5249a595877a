"""A new customer, in the browser: register, follow the mailed link, sign in, activate a code,
add a device, copy the derpMap."""

import pytest

from apps.acl.models import Device
from apps.operations import services as operations
from tests.accounts.helpers import STRONG_PASSWORD, link_in, mails_to
from tests.browser import support

NODE_KEY = "nodekey:" + "ab" * 32


@pytest.fixture
def fleet_with_room(fake_engine, monkeypatch):
    """Two healthy servers on the in-memory engine; operations run when the test says so (as the
    worker would), not through the broker."""
    monkeypatch.setattr(operations, "send", lambda operation_id, **kw: True)
    return [support.server(f"relay-{n}") for n in (1, 2)]


def test_register_verify_activate_add_a_device_and_copy_the_derpmap(
        page, panel, superadmin, fleet_with_room, run_operations, console_errors):
    code = support.code_for(support.plan(30), made_by=superadmin)

    page.goto("/accounts/register/")
    page.fill("#id_email", "newcomer@example.com")
    page.fill("#id_username", "newcomer")
    page.fill("#id_password", STRONG_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url("**/accounts/register/")
    assert "newcomer@example.com" in page.inner_text("main")

    [mail] = mails_to("newcomer@example.com", template="verify-email")
    link = link_in(mail)
    assert link.startswith(panel + "/accounts/verify/")
    page.goto(link)
    page.wait_for_url("**/accounts/login/")
    assert "Your e-mail address is verified" in page.inner_text("body")

    page.fill("#id_email", "newcomer@example.com")
    page.fill("#id_password", STRONG_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url("**/accounts/me/")

    page.goto("/billing/activate/")
    page.fill("#id_code", code.display.lower())
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/me/")
    assert "Your rental runs until" in page.inner_text("body")
    assert run_operations() >= 1  # the worker sets up the relay the activation asked for

    page.goto("/acl/devices/")
    page.fill("#id_name", "laptop")
    page.fill("#id_node_key", NODE_KEY)
    page.click("form:has(#id_node_key) button[type=submit]")
    page.wait_for_url("**/acl/devices/")
    assert "Device laptop added" in page.inner_text("body")
    assert list(Device.objects.values_list("name", "node_key")) == [("laptop", NODE_KEY)]

    page.goto("/acl/")
    snippet = page.inner_text("#derpmap-tailscale")
    assert '"derpMap"' in snippet
    page.click('[data-copy="derpmap-tailscale"]')
    page.locator('.derpmap-actions:has([data-copy="derpmap-tailscale"]) .copied').wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == page.text_content("#derpmap-tailscale")
    assert console_errors == []
