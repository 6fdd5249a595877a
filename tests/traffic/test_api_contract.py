"""The traffic API's contract: query parameters of the wrong kind are a 400 naming them (never
ignored, never a 500), ids in paths out of range a 404, marking usage expected takes a whole
number of days only, and the series answers keep their keys."""

import pytest

from apps.monitoring.models import Alert
from tests import api_contract as contract
from tests.conftest import token_client

NOT_DAYS = {"a word": "two", "a fraction": 1.5, "a boolean": True, "a list": [2], "huge": contract.HUGE,
            "zero": 0, "negative": -1}


@pytest.fixture
def relay(customer, make_server, place_relay):
    return place_relay(customer, make_server("sh-t"))


@pytest.mark.parametrize("query", [
    "from=yesterday", "to=2026-13-01T00:00:00Z", "resolution=week",
    "resolution=minute&from=2026-01-01T00:00:00Z&to=2026-01-10T00:00:00Z",
    "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"])
def test_bad_ranges_of_a_relay_are_a_400_naming_the_parameter(admin_user, relay, query):
    name = query.split("&")[0].split("=")[0]
    contract.refused_naming(token_client(admin_user).get(f"/api/container/{relay.pk}/traffic?{query}"),
                   name)


@pytest.mark.parametrize("query", ["resolution=minute", "from=soon"])
def test_bad_ranges_of_a_customer_are_a_400_naming_the_parameter(customer, query):
    contract.refused_naming(token_client(customer).get(f"/api/user/me/traffic?{query}"),
                   query.split("=")[0])


@pytest.mark.parametrize("path", ["/api/container/{}/traffic", "/api/user/{}/traffic"])
@pytest.mark.parametrize("pk", [str(contract.HUGE), "0"])
def test_an_out_of_range_id_in_the_path_is_a_404(admin_user, path, pk):
    contract.not_found(token_client(admin_user).get(path.format(pk)))


def test_the_series_keep_their_keys(customer, relay):
    api = token_client(customer)
    relay_body = api.get(f"/api/container/{relay.pk}/traffic").json()
    mine = api.get("/api/user/me/traffic").json()

    assert {"container_id", "from", "to", "resolution", "totals", "points", "rx_bytes",
            "tx_bytes", "rate_bps"} <= set(relay_body)
    assert {"user_id", "from", "to", "resolution", "totals", "points", "month_start",
            "month_bytes"} <= set(mine)
    assert relay_body["container_id"] == relay.pk and mine["user_id"] == customer.pk


@pytest.mark.parametrize(**contract.wrong({"days": NOT_DAYS}))
def test_marking_expected_takes_whole_days_only(admin_user, carol, spiking, field, value):
    before = contract.journal()
    contract.refused_naming(token_client(admin_user).post(f"/api/monitoring/alerts/{spiking.pk}/expected",
                                                 {field: value}, format="json"), field)
    assert contract.journal() == before and Alert.objects.get(pk=spiking.pk).resolved_at is None


def test_marking_expected_with_an_array_body_is_a_400(admin_user, carol, spiking):
    contract.refused_as_not_an_object(token_client(admin_user).post(
        f"/api/monitoring/alerts/{spiking.pk}/expected", [1], format="json"))
    assert Alert.objects.get(pk=spiking.pk).resolved_at is None
