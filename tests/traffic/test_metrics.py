"""GET /metrics: the fleet in Prometheus's text format for a scraper holding METRICS_TOKEN (or
calling from METRICS_ALLOWED_IPS). Without either configured it does not exist (404); a missing
token is a 401, a wrong one a 403; the answer is never cached, parses with Prometheus's own
parser, carries the figures of the database, and costs the same queries for 5 servers or 20."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from apps.acl import admission as admission_module
from apps.acl import services as acl
from apps.acl.counters import admission_counters
from apps.containers.models import InstanceStatus
from apps.monitoring import services as alerts
from apps.monitoring.models import AlertType, Severity
from apps.operations.models import Operation, OperationKind, OperationState
from apps.servers.models import ServerStatus
from tests.acl import conftest as admission
from tests.traffic.conftest import GB

TOKEN = "scrape-" + "s" * 40


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    return TOKEN


def scrape(client=None, **extra):
    return (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **extra)


def families(response) -> dict:
    assert response.status_code == 200, response.content[:300]
    return {family.name: family for family in
            text_string_to_metric_families(response.content.decode())}


def value(found: dict, family: str, sample_name: str | None = None, **labels) -> float:
    matching = [sample.value for sample in found[family].samples
                if (sample_name is None or sample.name == sample_name)
                and all(sample.labels.get(k) == v for k, v in labels.items())]
    assert len(matching) == 1, (family, labels, found[family].samples)
    return matching[0]


def test_without_a_token_or_addresses_configured_there_is_no_endpoint(settings, db):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", []

    assert Client().get("/metrics").status_code == 404
    assert scrape().status_code == 404


def test_a_missing_token_is_401_and_a_wrong_one_403(token, db):
    missing = Client().get("/metrics")
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    wrong_query = Client().get("/metrics", {"token": TOKEN[:-1]})

    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    assert wrong.status_code == 403 and wrong_query.status_code == 403
    assert b"derpmgr_" not in missing.content + wrong.content + wrong_query.content


def test_the_right_token_in_the_header_or_the_query_opens_it(token, db):
    by_header = scrape()
    by_query = Client().get("/metrics", {"token": TOKEN})

    assert by_header.status_code == 200 and by_query.status_code == 200
    assert by_header["Content-Type"].startswith("text/plain")
    assert "no-cache" in by_header["Cache-Control"] or "max-age=0" in by_header["Cache-Control"]


def test_an_allowed_address_needs_no_token(settings, db):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", ["10.0.0.0/8", "192.0.2.1"]

    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.2").get("/metrics").status_code == 401
    assert Client(REMOTE_ADDR="192.0.2.2").get("/metrics", {"token": "x"}).status_code == 403


def test_signed_in_staff_get_nothing_more_without_the_token(token, superadmin):
    from tests.conftest import signed_in_client

    assert signed_in_client(superadmin).get("/metrics").status_code == 401


def test_the_endpoint_is_not_in_the_api_schema(token, admin_user):
    from tests.conftest import token_client

    response = token_client(admin_user).get("/api/schema")

    assert response.status_code == 200
    paths = set(response.json()["paths"])
    assert "/api/container/{id}/traffic" in paths
    assert "/metrics" not in paths


@pytest.fixture
def fleet(make_server, place_relay, customer):
    full = make_server("sh-full", status=ServerStatus.OVER_QUOTA, traffic_month_bytes=1000 * GB,
                       traffic_total_bytes=5000 * GB, monthly_quota_bytes=1000 * GB,
                       rate_bps=0)
    busy = make_server("sh-busy", traffic_month_bytes=250 * GB, traffic_total_bytes=260 * GB,
                       monthly_quota_bytes=1000 * GB, rate_bps=80_000_000)
    free = make_server("sh-free", traffic_month_bytes=GB, traffic_total_bytes=GB)
    place_relay(customer, busy, status=InstanceStatus.RUNNING)
    place_relay(customer, free, status=InstanceStatus.RUNNING)
    place_relay(customer, full, status=InstanceStatus.STOPPED)
    alerts.open_alert(type=AlertType.OVER_QUOTA, target=full, severity=Severity.CRITICAL,
                      message="sh-full used its month")
    alerts.open_alert(type=AlertType.QUOTA_WARNING, target=busy, severity=Severity.WARNING,
                      message="sh-busy at 80 %")
    for state in (OperationState.FAILED, OperationState.FAILED, OperationState.QUEUED):
        Operation.objects.create(kind=OperationKind.START, state=state, server_id=busy.pk)
    return {"full": full, "busy": busy, "free": free}


def test_the_figures_are_the_databases(token, fleet):
    found = families(scrape())

    assert value(found, "derpmgr_servers", status="healthy") == 2
    assert value(found, "derpmgr_servers", status="over_quota") == 1
    assert value(found, "derpmgr_relays", status="running") == 2
    assert value(found, "derpmgr_relays", status="stopped") == 1
    assert value(found, "derpmgr_server_traffic_month_bytes", server="sh-busy") == 250 * GB
    assert value(found, "derpmgr_server_traffic_bytes", "derpmgr_server_traffic_bytes_total",
                 server="sh-full") == 5000 * GB
    assert value(found, "derpmgr_server_rate_bps", server="sh-busy") == 80_000_000
    assert value(found, "derpmgr_server_quota_used_ratio", server="sh-busy") == 0.25
    assert value(found, "derpmgr_server_quota_used_ratio", server="sh-full") == 1.0
    assert not [s for s in found["derpmgr_server_quota_used_ratio"].samples
                if s.labels["server"] == "sh-free"]  # no quota, no ratio
    assert value(found, "derpmgr_alerts_open", severity="critical") == 1
    assert value(found, "derpmgr_alerts_open", severity="warning") == 1
    assert value(found, "derpmgr_alerts_open", severity="info") == 0
    assert value(found, "derpmgr_operations_failed", "derpmgr_operations_failed_total",
                 kind="start") == 2
    assert value(found, "derpmgr_operations_pending", state="queued") == 1
    assert value(found, "derpmgr_outbox_emails", status="queued") >= 0
    assert {"derpmgr_admissions"} <= set(found)


def _queries_for_one_scrape() -> int:
    with CaptureQueriesContext(connection) as queries:
        assert scrape().status_code == 200
    return len(queries)


def test_the_queries_do_not_grow_with_the_fleet(token, make_server, place_relay, customer):
    for _ in range(5):
        place_relay(customer, make_server(monthly_quota_bytes=GB))
    with_five = _queries_for_one_scrape()
    for _ in range(15):
        place_relay(customer, make_server(monthly_quota_bytes=GB))

    assert _queries_for_one_scrape() == with_five
    assert with_five <= 12


@pytest.fixture
def admitting(customer, monkeypatch, settings):
    """The customer's relay with one registered device; counters flushed only when asked."""
    monkeypatch.setattr(admission_counters, "_due", float("inf"))
    monkeypatch.setattr(admission_module._recorder, "note", lambda *args: None)  # no last-seen
    admission.give_rental(customer)
    admission.paid_code(customer)
    relay = admission.relay(customer, admission.make_server(name="relay-a"))
    acl.add_device(user=customer, name="laptop", node_key=admission.node_key(1))
    acl.issue_version(user=customer, reason="test")
    return relay


def test_admissions_move_the_allowed_and_refused_counters(token, admitting):
    before = families(scrape())
    client = Client()
    for _ in range(3):
        admission.ask(client, admitting, admission.node_key(1))
    admission.ask(client, admitting, admission.node_key(2))
    admission.admit(client, admitting.admission_token, b"not json")
    admission_counters.flush()

    after = families(scrape())

    def moved(result):
        return (value(after, "derpmgr_admissions", "derpmgr_admissions_total", result=result)
                - value(before, "derpmgr_admissions", "derpmgr_admissions_total", result=result))

    assert moved("allowed") == 3
    assert moved("refused") == 2
