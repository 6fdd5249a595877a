"""What the panel may be pointed at: webhook URLs (the panel posts to them) and ping targets
(the servers ping them) cannot reach the panel itself or internal addresses (SSRF)."""

import socket

import pytest

from apps.monitoring import targets
from derpmgr.errors import ServiceError


def refusal(check, value, field) -> str:
    with pytest.raises(ServiceError) as caught:
        check(value)
    assert list(caught.value.fields) == [field]
    return str(caught.value.message)


@pytest.mark.parametrize("url, says", [
    ("ftp://1.2.3.4/hook", "Only http:// and https://"),
    ("file:///etc/passwd", "Only http:// and https://"),
    ("javascript:alert(1)", "Only http:// and https://"),
    ("http:///path-only", "no host"),
    ("http://user:pw@1.2.3.4/", "user name or password"),
    ("http://token@1.2.3.4/", "user name or password"),
    ("http://127.0.0.1/", "loopback"),
    ("http://127.1.2.3:8000/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://localhost:6379/", "loopback"),
    ("http://10.0.0.8/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://100.64.0.1/", "private"),  # shared address space (a tailnet's)
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://0.0.0.0:8000/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://testserver/hooks", "the panel itself"),  # PANEL_URL in the test settings
    ("http://1.2.3.4:99999/", "not a valid URL"),
    ("http://1.2.3.4/a b", "no spaces"),
    ("http://bad_host!/", "not a valid host name"),
    ("", "Enter an http"),
    (5, "Enter an http"),
    (["http://1.2.3.4/"], "Enter an http"),
    (None, "Enter an http"),
    ("http://" + "a" * 600 + ".com/", "too long"),
])
def test_webhook_urls_that_are_refused(url, says):
    assert says in refusal(targets.check_webhook_url, url, "url")


def test_public_http_and_https_urls_are_accepted():
    assert targets.check_webhook_url(" https://1.2.3.4:8443/hook?x=1 ") == (
        "https://1.2.3.4:8443/hook?x=1")
    assert targets.check_webhook_url("http://[2001:4860:4860::8888]/") == (
        "http://[2001:4860:4860::8888]/")


def test_a_name_is_refused_if_any_of_its_addresses_is(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **kw: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", 443)),
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 443, 0, 0))])
    assert "loopback" in refusal(targets.check_webhook_url, "https://hooks.example/", "url")


def test_a_name_that_does_not_resolve_is_refused(monkeypatch):
    def no_such_name(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    assert "does not resolve" in refusal(targets.check_webhook_url, "https://hooks.example/",
                                         "url")


def test_the_panel_is_refused_by_its_names_and_by_its_addresses(settings, monkeypatch):
    settings.PANEL_URL = "https://panel.example"
    settings.ADMISSION_URL = "http://admit.example:8001"
    settings.ALLOWED_HOSTS = [".derp.example", "*"]
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **kw: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.4.4", 443))])
    for url in ("https://panel.example/x", "http://PANEL.example.:9000/", "http://admit.example/",
                "https://ops.derp.example/", "https://8.8.4.4/", "https://alias.example/"):
        assert "the panel itself" in refusal(targets.check_webhook_url, url, "url"), url


def test_private_targets_pass_only_with_the_setting_and_link_local_never(settings):
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = True
    assert targets.check_webhook_url("http://127.0.0.1:9000/") == "http://127.0.0.1:9000/"
    assert targets.check_webhook_url("http://10.0.0.8/") == "http://10.0.0.8/"
    assert "link-local" in refusal(targets.check_webhook_url,
                                   "http://169.254.169.254/", "url")
    assert "the panel itself" in refusal(targets.check_webhook_url, "http://testserver/", "url")


@pytest.mark.parametrize("text, says", [
    ("1.2.3.4; rm -rf /", "not a host name"),
    ("8.8.8.8 && reboot", "not a host name"),
    ("$(reboot)", "not a host name"),
    ("-c 1000000 8.8.8.8", "not a host name"),
    ("-f", "not a host name"),
    ("http://8.8.8.8/", "not a host name"),
    ("8.8.8.8:53", "not a host name"),
    ("1.2.3", "not a host name"),
    ("169.254.169.254", "link-local"),
    ("127.0.0.1", "loopback"),
    ("::1", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("10.1.2.3", "private"),
    ("localhost", "loopback"),
    ("\n".join(f"8.8.8.{n}" for n in range(21)), "At most 20"),
    (42, "as text"),
])
def test_ping_targets_that_are_refused(text, says):
    assert says in refusal(targets.check_probe_targets, text, "probe_targets")


def test_ping_targets_are_kept_one_per_line_without_blanks_or_repeats():
    assert targets.check_probe_targets(" 8.8.8.8 \n\n1.1.1.1\n8.8.8.8\n2001:4860:4860::8888\n") == (
        "8.8.8.8\n1.1.1.1\n2001:4860:4860::8888")
    assert targets.check_probe_targets("") == ""


def test_private_ping_targets_need_the_setting_and_loopback_is_never_one(settings):
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = True
    assert targets.check_probe_targets("10.1.2.3") == "10.1.2.3"
    assert "loopback" in refusal(targets.check_probe_targets, "127.0.0.1", "probe_targets")


@pytest.mark.parametrize("url, says", [
    ("ftp://mirror.example/file", "Only http:// and https://"),
    ("http://user:pw@mirror.example/f", "user name or password"),
    ("mirror.example/file", "Only http:// and https://"),
    ("http:///file", "no host"),
    (["http://x/"], "Enter an http"),
])
def test_speed_test_urls_that_are_refused(url, says):
    assert says in refusal(targets.check_speed_test_url, url, "speed_test_url")


def test_a_speed_test_url_may_be_empty():
    assert targets.check_speed_test_url("") == ""
    assert targets.check_speed_test_url("https://mirror.example/100M.bin") == (
        "https://mirror.example/100M.bin")
