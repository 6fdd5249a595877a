"""The optional Prometheus and Grafana services: the compose file keeps them behind the
"monitoring" profile, mounts files that exist, scrapes /metrics with the token; the dashboard is
valid JSON on the Prometheus data source variable and charts only families /metrics serves."""

import json
import re
from pathlib import Path

import pytest
import yaml
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_prometheus_and_grafana_are_optional_services():
    services = compose()["services"]

    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
    assert all("profiles" not in services[name] for name in ("web", "worker", "postgres"))


def test_their_mounted_files_exist_and_the_scrape_uses_the_token():
    services = compose()["services"]
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), source
    scrape = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    job = scrape["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics" and job["static_configs"][0]["targets"] == ["web:8000"]
    assert job["authorization"]["credentials_file"] in " ".join(services["prometheus"]["command"])
    assert "METRICS_TOKEN" in services["prometheus"]["environment"]


def dashboard() -> dict:
    return json.loads((REPO / "deploy/grafana/dashboards/derpmgr.json").read_text())


def test_the_dashboard_uses_the_data_source_variable():
    board = dashboard()

    assert [v["type"] for v in board["templating"]["list"]] == ["datasource"]
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}"
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])


@pytest.fixture
def served(settings, make_server) -> set[str]:
    """The sample names /metrics serves (one server with a quota)."""
    make_server(monthly_quota_bytes=2**30)
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "t" * 32, []
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer " + "t" * 32)
    names = set()
    for family in text_string_to_metric_families(response.content.decode()):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def test_the_dashboard_charts_what_the_endpoint_serves(served):
    used = {name for panel in dashboard()["panels"] for target in panel["targets"]
            for name in re.findall(r"derpmgr_[a-z_]+", target["expr"])}

    assert used and used <= served, used - served
    titles = " ".join(panel["title"] for panel in dashboard()["panels"]).lower()
    for topic in ("servers", "relays", "quota", "admissions", "alerts", "outbox", "traffic"):
        assert topic in titles
