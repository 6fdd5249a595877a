"""Production defaults: HTTPS only (HSTS for a year, plain http redirected except what machines
ask on the inside), `check --deploy` clean of security warnings, and a proxy the settings do not
know about is noticed (X-Forwarded-For with NUM_PROXIES=0)."""

import json
import logging
import secrets

import pytest
from django.test import Client

from derpmgr import proxies

PRODUCTION = {"DERPMGR_ENV": "production", "ALLOWED_HOSTS": "panel.example.com"}


def production(**env) -> dict:
    return {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50), **env}


def test_check_deploy_in_production_has_no_security_warnings(run_django):
    result = run_django("from django.core.management import call_command\n"
                        "call_command('check', deploy=True, fail_level='ERROR')",
                        **production())

    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "System check identified" in output  # the checks ran (drf_spectacular may warn)
    flagged = [line for line in output.splitlines()
               if "(security." in line or "(csp." in line or "(derpmgr." in line]
    assert flagged == []


def test_production_defaults_are_https_only_and_each_can_be_set(run_django):
    show = ("from django.conf import settings as s; import json\n"
            "print(json.dumps([s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
            " s.SECURE_HSTS_PRELOAD, s.SECURE_SSL_REDIRECT]))")

    defaults = run_django(show, **production())
    chosen = run_django(show, **production(SECURE_HSTS_SECONDS="600",
                                           SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
                                           SECURE_HSTS_PRELOAD="false",
                                           SECURE_SSL_REDIRECT="false"))
    embedded = run_django(show)

    assert json.loads(defaults.stdout) == [31536000, True, True, True], defaults.stderr[-2000:]
    assert json.loads(chosen.stdout) == [600, False, False, False]
    assert json.loads(embedded.stdout) == [0, False, False, False]


@pytest.fixture
def https_only(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    return settings


def test_plain_http_pages_are_redirected_to_https(https_only, db):
    response = Client().get("/accounts/login/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"


def test_https_answers_carry_hsts(https_only, db):
    response = Client().get("/accounts/login/", secure=True)

    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_relays_and_the_metrics_scrape_are_not_redirected(https_only, db):
    admission = Client().generic("POST", "/api/acl/admit/sometoken", b"{}", content_type="")
    metrics = Client().get("/metrics")

    assert admission.status_code == 200 and admission.json() == {"Allow": False}
    assert metrics.status_code != 301


# --- A proxy the settings do not know about ------------------------------------------------

def test_forwarded_for_with_no_proxies_configured_is_warned_about_once(settings, db, caplog):
    settings.NUM_PROXIES = 0
    client = Client()
    with caplog.at_level(logging.WARNING, logger="derpmgr.proxies"):
        for _n in range(3):
            client.get("/accounts/login/", HTTP_X_FORWARDED_FOR="198.51.100.9")

    warnings = [r for r in caplog.records if r.name == "derpmgr.proxies"]
    assert len(warnings) == 1
    assert "NUM_PROXIES=0" in warnings[0].getMessage()
    [found] = proxies.forwarded_for_seen()
    assert found.id == "derpmgr.W001" and "NUM_PROXIES" in found.hint


def test_no_warning_without_forwarded_for_or_with_proxies_configured(settings, db, caplog):
    settings.NUM_PROXIES = 0
    Client().get("/accounts/login/")
    settings.NUM_PROXIES = 1
    Client().get("/accounts/login/", HTTP_X_FORWARDED_FOR="198.51.100.9")

    assert [r for r in caplog.records if r.name == "derpmgr.proxies"] == []
    settings.NUM_PROXIES = 0
    assert proxies.forwarded_for_seen() == []


def test_docker_compose_tells_the_panel_about_its_proxy():
    from pathlib import Path

    compose = (Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text()

    assert "NUM_PROXIES: ${NUM_PROXIES:-1}" in compose
