"""An admin, in the browser: signs in with a password and a one-time code, adds a server and
follows its set-up on the task's page until it is done. The SSH side is the servers tests' fake
remote (tests/servers/conftest.py): what is tested here is the pages, the form and the live
progress; the real SSH path has tests/fleet."""

from apps.operations import services as operations
from apps.servers.models import Server
from tests.factories import PASSWORD, current_totp, enrol_totp
from tests.servers.conftest import (
    CLIENT_KEY,
    SERVER_GRANTS,
    grant,
    remote,  # noqa: F401 - the fixture
)


def test_signing_in_and_adding_a_server_shows_its_progress_until_done(page, panel, admin_user, remote,  # noqa: F811
                                                       run_operations, monkeypatch, console_errors):
    monkeypatch.setattr(operations, "send", lambda operation_id, **kw: True)  # the test is the worker
    grant(admin_user, *SERVER_GRANTS)
    phone_app = enrol_totp(admin_user)

    page.goto("/ops/servers/")
    page.wait_for_url("**/accounts/login/?next=/ops/servers/")
    page.fill("#id_email", admin_user.email)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/mfa/verify/")
    page.fill("#id_token", current_totp(phone_app))
    page.click("main form button[type=submit]")
    page.wait_for_url("**/ops/servers/")
    page.click("a[href='/ops/servers/add/']")
    page.wait_for_url("**/ops/servers/add/")
    page.fill("#id_name", "sh-1")
    page.fill("#id_public_ip", "127.0.0.2")
    page.fill("#id_location", "Shanghai")
    page.fill("#id_ssh_port", "2222")
    page.fill("#id_ssh_secret", CLIENT_KEY)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/ops/operations/*/")

    assert "sh-1 is being set up" in page.inner_text("body")
    assert page.get_attribute(".operation .status", "data-state") == "queued"
    assert page.locator(".operation progress").is_visible()

    assert run_operations() == 1
    # The page follows the task by itself (htmx, every 2 s) until it is done.
    page.locator('.operation .status[data-state="done"]').wait_for()
    server = Server.objects.get(name="sh-1")
    assert server.status == "healthy"
    assert ("fetch_host_key", "127.0.0.2", 2222) in remote.calls
    assert console_errors == []
