"""Fleet health is the operators': admins and super admins open every monitoring page and route;
a distributor, a customer or a stranger is told nothing is there (404) and learns nothing of the
fleet; an anonymous visitor is asked to sign in (pages) or authenticate (API). Nobody else
acknowledges anything or starts a speed test."""

import pytest

from apps.audit.models import AuditEvent
from apps.monitoring import services as alerts
from apps.monitoring.models import Alert, AlertType, Metric, Sample, Severity
from apps.operations.models import Operation
from tests.conftest import signed_in_client, token_client

STAFF = ["superadmin", "admin"]
OTHERS = ["distributor", "user", "stranger"]
SERVER_NAME = "secret-relay-host"
SECRET_MESSAGE = "disk of secret-relay-host 97 %"

PAGES = ["/ops/", "/ops/alerts/", "/ops/alerts/?state=all", "/ops/alerts/{alert}/",
         "/ops/load/", "/ops/servers/{server}/", "/ops/servers/{server}/?range=7d"]
READS = ["/api/monitoring/alerts", "/api/monitoring/alerts?state=all",
         "/api/monitoring/alerts/{alert}", "/api/monitoring/load_analysis",
         "/api/server/{server}/metrics?metric=load1", "/api/server/{server}/metrics?metric=load1&range=7d"]
WRITES = ["/api/monitoring/alerts/{alert}/acknowledge", "/api/server/{server}/speed_test"]
POSTED_PAGES = ["/ops/alerts/{alert}/", "/ops/servers/{server}/speed-test/"]


@pytest.fixture
def fleet(make_server):
    server = make_server(SERVER_NAME)
    alert = alerts.open_alert(type=AlertType.DISK_HIGH, target=server, severity=Severity.WARNING,
                              message=SECRET_MESSAGE)
    Sample.objects.create(server=server, metric=Metric.LOAD1, value=0.5)
    return {"server": server.pk, "alert": alert.pk}


def _nothing_done():
    assert not Alert.objects.filter(acknowledged_at__isnull=False).exists()
    assert not AuditEvent.objects.filter(action="monitoring.alert_acknowledged").exists()
    assert not Operation.objects.exists()


@pytest.mark.parametrize("persona", STAFF)
@pytest.mark.parametrize("page", PAGES)
def test_staff_open_every_monitoring_page(personas, fleet, persona, page):
    response = signed_in_client(personas[persona]).get(page.format(**fleet))

    assert response.status_code == 200
    assert SERVER_NAME.encode() in response.content


@pytest.mark.parametrize("persona", OTHERS)
@pytest.mark.parametrize("page", PAGES[1:])
def test_others_are_told_there_is_no_monitoring_page(personas, fleet, persona, page):
    response = signed_in_client(personas[persona]).get(page.format(**fleet))

    assert response.status_code == 404
    assert SERVER_NAME.encode() not in response.content


@pytest.mark.parametrize("persona", OTHERS)
@pytest.mark.parametrize("page", POSTED_PAGES)
def test_others_cannot_act_through_the_pages(personas, fleet, persona, page):
    response = signed_in_client(personas[persona]).post(page.format(**fleet), {"note": "mine"})

    assert response.status_code == 404
    _nothing_done()


@pytest.mark.parametrize("page", PAGES + POSTED_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(anon_client, fleet, page):
    response = anon_client.get(page.format(**fleet))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("persona", STAFF)
@pytest.mark.parametrize("route", READS)
def test_staff_read_every_route(personas, fleet, persona, route):
    response = token_client(personas[persona]).get(route.format(**fleet))

    assert response.status_code == 200, response.content[:300]
    assert response.json()["success"] is True


@pytest.mark.parametrize("persona", OTHERS)
@pytest.mark.parametrize("route", READS)
def test_others_read_nothing(personas, fleet, persona, route):
    response = token_client(personas[persona]).get(route.format(**fleet))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert SERVER_NAME not in response.content.decode()
    assert SECRET_MESSAGE not in response.content.decode()


@pytest.mark.parametrize("persona", OTHERS)
@pytest.mark.parametrize("route", WRITES)
def test_others_change_nothing(personas, fleet, persona, route):
    response = token_client(personas[persona]).post(route.format(**fleet), {"note": "mine"},
                                                     format="json")

    assert response.status_code == 404
    assert SERVER_NAME not in response.content.decode()
    _nothing_done()


@pytest.mark.parametrize(("method", "route"), [*[("get", r) for r in READS],
                                               *[("post", r) for r in WRITES]])
def test_anonymous_callers_must_authenticate(anon_api, fleet, method, route):
    response = getattr(anon_api, method)(route.format(**fleet), {}, format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    _nothing_done()


def test_an_admin_whose_grant_was_withdrawn_is_refused_with_403(admin_user, fleet):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="admin")
    group.permissions.remove(*group.permissions.filter(codename="acknowledge_alert"))
    response = token_client(admin_user).post(
        f"/api/monitoring/alerts/{fleet['alert']}/acknowledge", {"note": "on it"}, format="json")

    assert response.status_code == 403
    _nothing_done()


def test_the_ops_navigation_links_alerts_and_load(admin_user):
    page = signed_in_client(admin_user).get("/ops/").content.decode()

    assert 'href="/ops/alerts/"' in page and 'href="/ops/load/"' in page
