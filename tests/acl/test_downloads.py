"""Downloads need an active rental and a paid code, and the refusal says which is missing; every
download is logged with its IP and location; a refusal logs and changes nothing."""

import json

import pytest
import yaml

from apps.accounts.models import RentalState
from apps.acl.models import AclConfig, AclLog
from apps.billing.models import Order, OrderKind, OrderStatus
from apps.distribution.models import ActivationCode
from apps.servers import geoip
from tests.acl.conftest import give_rental, relay
from tests.commerce.helpers import refused
from tests.conftest import token_client

URL = "/api/acl/download"


def download(user, fmt="json", **params):
    return token_client(user).get(URL, {"format": fmt, **params}, REMOTE_ADDR="203.0.113.50")


@pytest.fixture
def located(monkeypatch):
    monkeypatch.setattr(geoip, "locate", lambda ip: {"203.0.113.50": "浙江省杭州市"}.get(ip, ""))


def test_each_format_downloads_as_a_file_and_is_logged(renter, relays, located):
    for fmt, parse, content_type in (
            ("json", json.loads, "application/json"),
            ("headscale", yaml.safe_load, "application/yaml; charset=utf-8"),
            ("tailscale", lambda text: json.loads("{" + text.rstrip().removesuffix(",") + "}"),
             "text/plain; charset=utf-8")):
        response = download(renter, fmt)
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == content_type
        assert response["Content-Disposition"].startswith('attachment; filename="')
        assert parse(response.content.decode())
    logs = list(AclLog.objects.order_by("id").values_list("user", "version", "format", "ip", "location"))
    assert logs == [(renter.pk, 1, fmt, "203.0.113.50", "浙江省杭州市")
                    for fmt in ("json", "headscale", "tailscale")]


def test_omit_default_regions_is_the_users_choice(renter, relays):
    assert json.loads(download(renter).content)["OmitDefaultRegions"] is True
    assert "OmitDefaultRegions" not in json.loads(download(renter, omit_default_regions="false").content)


def unpaid(user):
    ActivationCode.objects.filter(user=user).update(paid=False)


def test_without_an_active_rental_the_refusal_says_so(renter, relays):
    give_rental(renter, state=RentalState.NONE)
    error = refused(download(renter), 403, "rental_inactive")
    assert "an active rental" in error["message"] and "paid" not in error["message"]
    assert set(error["fields"]) == {"rental"}
    assert not AclLog.objects.exists() and not AclConfig.objects.exists()


def test_with_an_unpaid_code_the_refusal_says_so(renter, relays):
    unpaid(renter)
    error = refused(download(renter), 403, "code_unpaid")
    assert "a paid activation code" in error["message"] and "active rental" not in error["message"]
    assert set(error["fields"]) == {"payment"}
    assert not AclLog.objects.exists()


def test_with_neither_the_refusal_names_both(customer):
    error = refused(download(customer), 403, "rental_inactive_and_unpaid")
    assert "an active rental" in error["message"] and "a paid activation code" in error["message"]
    assert set(error["fields"]) == {"rental", "payment"}


def test_a_rental_past_its_end_is_not_active(renter, relays):
    renter.rental_expiry = renter.date_joined
    renter.save(update_fields=["rental_expiry"])
    refused(download(renter), 403, "rental_inactive")


def test_a_suspended_rental_is_refused_saying_why_and_what_brings_it_back(renter, relays):
    give_rental(renter, state=RentalState.SUSPENDED)
    error = refused(download(renter), 403, "rental_suspended")
    assert "renew" in error["message"]


def test_a_bought_plan_counts_as_paid(renter, relays):
    unpaid(renter)
    Order.objects.create(buyer=renter, kind=OrderKind.PURCHASE, status=OrderStatus.COMPLETED,
                         list_price_fen=100, amount_fen=100)
    assert download(renter).status_code == 200


def test_before_any_relay_runs_there_is_nothing_to_download(renter):
    error = refused(download(renter), 409, "no_relays")
    assert "being set up" in error["message"]
    assert not AclLog.objects.exists()


@pytest.mark.parametrize("params", [{"format": "xml"}, {"format": ""}, {},
                                    {"format": "json", "omit_default_regions": "maybe"}])
def test_bad_parameters_are_a_400_and_log_nothing(renter, relays, params):
    refused(token_client(renter).get(URL, params), 400)
    assert not AclLog.objects.exists()


def test_the_feed_url_serves_the_current_version(renter, servers, anon_client):
    relay(renter, servers[0])
    url = token_client(renter).post("/api/acl/generate", {}, format="json").json()["acl"]["feed_url"]
    path = url.removeprefix("http://testserver")

    first = anon_client.get(path)
    assert first.status_code == 200 and first["Content-Type"] == "application/json"
    assert len(first.json()["Regions"]) == 1
    relay(renter, servers[1])
    token_client(renter).post("/api/acl/generate", {}, format="json")
    assert len(anon_client.get(path).json()["Regions"]) == 2
    assert list(AclLog.objects.order_by("id").values_list("format", "version")) == [("feed", 1), ("feed", 2)]
    assert not first.cookies


def test_an_unknown_feed_token_is_not_found(db, anon_client):
    response = anon_client.get("/acl/feed/not-a-token.json")
    assert response.status_code == 404 and response.json()["success"] is False


def test_the_feed_refuses_once_the_rental_ends(renter, relays, anon_client):
    url = token_client(renter).post("/api/acl/generate", {}, format="json").json()["acl"]["feed_url"]
    give_rental(renter, state=RentalState.SUSPENDED)
    response = anon_client.get(url.removeprefix("http://testserver"))
    assert response.status_code == 403 and response.json()["error"]["code"] == "rental_suspended"
