"""A server's page shows its health: probe state and figures, each relay's latency from the panel,
latency charts as inline SVG for the last 24 hours or 7 days (?range=), all in a bounded number of
queries."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.monitoring.models import Metric, RelayHealth, Sample, SampleRollup, ServerHealth
from tests.conftest import signed_in_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def probed(make_server, place_relay):
    server = make_server("sh-1")
    ServerHealth.objects.create(
        server=server, failures=2, successes=0, last_probe_at=timezone.now(),
        last_error="SSH timed out after 10 s",
        latest={"load1": 0.75, "cpus": 4, "mem_percent": 61.5, "disk_percent": 48,
                "uptime_s": 86400, "ssh_ms": 35, "engine_ok": 1,
                "ping_ms": {"1.1.1.1": 12.5}})
    relay = place_relay(UserFactory(username="carol"), server, port=30007)
    RelayHealth.objects.create(instance=relay, last_probe_at=timezone.now(),
                               latest={"tcp_ms": 3.1, "tls_ms": 9.4, "http_ms": 15.2,
                                       "stun_ms": 4.4, "reachable": 1})
    now = timezone.now()
    for minutes, tls in ((50, 9.0), (20, 11.0)):
        Sample.objects.create(server=server, instance=relay, metric=Metric.TLS_MS, value=tls,
                              taken_at=now - timedelta(minutes=minutes))
    Sample.objects.create(server=server, metric=Metric.PING_MS, label="1.1.1.1", value=12.5)
    SampleRollup.objects.create(server=server, instance=relay, metric=Metric.HTTP_MS,
                                hour=(now - timedelta(days=3)).replace(minute=0, second=0,
                                                                       microsecond=0),
                                count=12, mean=40, low=30, high=70)
    return server, relay


def test_the_health_section_shows_the_probe_and_its_figures(admin_user, probed):
    server, relay = probed
    page = signed_in_client(admin_user).get(f"/ops/servers/{server.pk}/").content.decode()

    section = page[page.index('id="server-health"'):page.index('id="latency-charts"')]
    assert re.search(r'id="health-failures">2<', section)
    assert "SSH timed out after 10 s" in section
    for figure in ("0.75", "61.5", "86400", "1.1.1.1: 12.5"):
        assert figure in section
    row = re.search(rf'data-instance-id="{relay.pk}">(.*?)</tr>', section).group(1)
    assert all(value in row for value in ("3.1", "9.4", "15.2", "4.4", "yes", "carol"))


def test_the_charts_are_inline_svg_of_the_last_24_hours(admin_user, probed):
    server, _relay = probed
    page = signed_in_client(admin_user).get(f"/ops/servers/{server.pk}/").content.decode()

    charts = page[page.index('id="latency-charts"'):page.index('id="speed-test"')]
    assert charts.count("<svg") == 2  # from the server (ping), and the relay's
    assert "<polyline" in charts and "<script" not in page.split("</head>")[1]
    assert "30007 (carol)" in charts
    assert "<strong>24h</strong>" in charts and 'href="?range=7d#latency-charts"' in charts


def test_seven_days_draw_the_hourly_figures(admin_user, probed):
    server, _relay = probed
    page = signed_in_client(admin_user).get(f"/ops/servers/{server.pk}/?range=7d").content.decode()

    charts = page[page.index('id="latency-charts"'):page.index('id="speed-test"')]
    assert "<strong>7d</strong>" in charts
    assert "HTTP /generate_204 (ms)" in charts


def test_a_bad_range_falls_back_to_24_hours(admin_user, probed):
    server, _relay = probed
    response = signed_in_client(admin_user).get(f"/ops/servers/{server.pk}/?range=forever")

    assert response.status_code == 200
    assert "<strong>24h</strong>" in response.content.decode()


def test_a_server_never_probed_says_so(admin_user, make_server):
    server = make_server("fresh")
    page = signed_in_client(admin_user).get(f"/ops/servers/{server.pk}/").content.decode()

    assert "Not probed yet." in page and "No figures in this period yet." in page


def test_the_page_queries_do_not_grow_with_relays(admin_user, probed, place_relay,
                                                   django_assert_max_num_queries):
    server, _relay = probed
    client = signed_in_client(admin_user)
    client.get(f"/ops/servers/{server.pk}/")
    for number in range(8):
        relay = place_relay(UserFactory(), server, port=30100 + number)
        RelayHealth.objects.create(instance=relay, latest={"tls_ms": 5})
        Sample.objects.create(server=server, instance=relay, metric=Metric.TLS_MS, value=5)

    with django_assert_max_num_queries(30):
        assert client.get(f"/ops/servers/{server.pk}/").status_code == 200
