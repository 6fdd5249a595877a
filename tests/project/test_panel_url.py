"""PANEL_URL, the base of e-mail links and of the relays' admission URL, defaults to the address
scripts/run.sh serves (DERPMGR_BIND), so a panel started on another port links to that port."""

import pytest

PRINT_URLS = """
from django.conf import settings
from apps.containers.engine import verify_url
from types import SimpleNamespace
print(settings.PANEL_URL)
print(verify_url(SimpleNamespace(admission_token="tok")))
"""


def urls(run_django, **env) -> list[str]:
    result = run_django(PRINT_URLS, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_unset_it_is_where_run_sh_serves_by_default(run_django):
    assert urls(run_django) == ["http://127.0.0.1:8000", "http://127.0.0.1:8000/api/acl/admit/tok"]


def test_unset_it_follows_derpmgr_bind(run_django):
    assert urls(run_django, DERPMGR_BIND="127.0.0.1:9123") == [
        "http://127.0.0.1:9123", "http://127.0.0.1:9123/api/acl/admit/tok"]


@pytest.mark.parametrize(("bind", "panel_url"), [
    ("0.0.0.0:8080", "http://127.0.0.1:8080"),  # every interface: this machine reaches it on loopback
    ("[::]:8080", "http://127.0.0.1:8080"),
    ("[::1]:8443", "http://[::1]:8443"),
    ("panel.lan", "http://panel.lan:8000"),  # gunicorn's default port
    ("unix:/run/derpmgr.sock", "http://127.0.0.1:8000"),  # behind a proxy: PANEL_URL must be set
])
def test_every_form_of_bind_gives_a_url(run_django, bind, panel_url):
    assert urls(run_django, DERPMGR_BIND=bind)[0] == panel_url


def test_a_set_panel_url_wins_over_the_bind(run_django):
    assert urls(run_django, DERPMGR_BIND="0.0.0.0:9000", PANEL_URL="https://panel.example.com/") == [
        "https://panel.example.com", "https://panel.example.com/api/acl/admit/tok"]
