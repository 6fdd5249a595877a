"""The monitoring API's contract: strict JSON types for acknowledging an alert and for the alert
channels and thresholds (a wrong type is a 400 naming the field, nothing saved), filters of the
wrong kind refused, ids in paths out of range a 404, and the seed's load_analysis key."""

import pytest

from apps.monitoring import services as alerts
from apps.monitoring.models import Alert, AlertChannel, AlertType, MonitoringSettings, Severity
from tests import api_contract as contract
from tests.conftest import token_client

NOT_INTS = {"a word": "three", "a fraction": 2.5, "a boolean": True, "a list": [3], "huge": contract.HUGE}
CHANNELS = "/api/monitoring/channels"


@pytest.fixture
def alert(make_server):
    return alerts.open_alert(type=AlertType.DISK_HIGH, target=make_server("sh-1"),
                             severity=Severity.WARNING, message="disk 93 %")


@pytest.mark.parametrize(**contract.wrong({"note": contract.NOT_STRINGS}))
def test_acknowledging_with_a_wrong_type_is_a_400(admin_user, alert, field, value):
    before = contract.journal()
    contract.refused_naming(token_client(admin_user).post(
        f"/api/monitoring/alerts/{alert.pk}/acknowledge", {field: value}, format="json"), field)
    assert contract.journal() == before and Alert.objects.get().acknowledged_at is None


def test_acknowledging_with_an_array_body_is_a_400(admin_user, alert):
    contract.refused_as_not_an_object(token_client(admin_user).post(
        f"/api/monitoring/alerts/{alert.pk}/acknowledge", ["busy"], format="json"))
    assert Alert.objects.get().acknowledged_at is None


@pytest.mark.parametrize(**contract.wrong({
    **dict.fromkeys(["name", "kind", "url", "secret", "min_severity"], contract.NOT_STRINGS),
    "enabled": contract.NOT_BOOLEANS}))
def test_a_channel_with_a_wrong_type_is_a_400_and_nothing_is_saved(superadmin, field, value):
    body = {"name": "hook", "kind": "webhook", "url": "https://1.2.3.4/hook", field: value}
    before = contract.journal()
    contract.refused_naming(token_client(superadmin).post(CHANNELS, body, format="json"), field)
    assert contract.journal() == before and not AlertChannel.objects.exists()


@pytest.mark.parametrize(**contract.wrong(
    dict.fromkeys(["regenerate_secret", "enabled"], contract.NOT_BOOLEANS)))
def test_changing_a_channel_with_a_wrong_type_is_a_400(superadmin, field, value):
    api = token_client(superadmin)
    made = api.post(CHANNELS, {"name": "hook", "kind": "webhook",
                               "url": "https://1.2.3.4/hook"}, format="json").json()
    before = contract.journal()
    contract.refused_naming(api.patch(f"{CHANNELS}/{made['channel']['id']}", {field: value},
                             format="json"), field)
    assert contract.journal() == before and AlertChannel.objects.get().enabled is True


@pytest.mark.parametrize(**contract.wrong({"failures_before_unhealthy": NOT_INTS,
                                  "latency_warning_ms": NOT_INTS,
                                  "speed_test_url": contract.NOT_STRINGS}))
def test_thresholds_of_a_wrong_type_are_a_400_and_nothing_changes(superadmin, field, value):
    current = MonitoringSettings.current()
    before = contract.journal()
    contract.refused_naming(token_client(superadmin).patch("/api/monitoring/settings", {field: value},
                                                  format="json"), field)
    assert contract.journal() == before
    assert MonitoringSettings.current().failures_before_unhealthy == \
        current.failures_before_unhealthy


@pytest.mark.parametrize("query", ["state=closed", "type=fire", "severity=loud", "server_id=abc",
                                   f"server_id={contract.HUGE}", "since=yesterday"])
def test_bad_alert_filters_are_a_400_naming_them(admin_user, alert, query):
    contract.refused_naming(token_client(admin_user).get(f"/api/monitoring/alerts?{query}"),
                   query.split("=")[0])


@pytest.mark.parametrize("query", ["metric=fuel", "metric=load1&range=1y",
                                   "metric=load1&relay_id=abc"])
def test_bad_metric_queries_are_a_400_naming_them(admin_user, make_server, query):
    server = make_server("sh-m")
    name = query.split("&")[-1].split("=")[0]
    contract.refused_naming(token_client(admin_user).get(f"/api/server/{server.pk}/metrics?{query}"), name)


@pytest.mark.parametrize("path", ["/api/monitoring/alerts/{}", "/api/monitoring/channels/{}"])
@pytest.mark.parametrize("pk", [str(contract.HUGE), "0"])
def test_an_out_of_range_id_in_the_path_is_a_404(superadmin, path, pk):
    contract.not_found(token_client(superadmin).get(path.format(pk)))


def test_the_load_analysis_answers_the_seeds_key(admin_user, alert):
    body = token_client(admin_user).get("/api/monitoring/load_analysis").json()

    assert body["success"] is True
    assert body["load_analysis"]["servers"] == body["servers"]
    assert body["load_analysis"]["totals"]["open_alerts"] == 1
