"""POST /api/acl/generate (the seed's route): an admin re-issues for any user they may see, a
customer for themselves; the answer is the new version."""

import pytest

from apps.accounts.models import RentalState
from apps.acl.models import AclConfig
from apps.audit.models import AuditEvent
from tests.acl.conftest import give_rental
from tests.commerce.helpers import refused
from tests.conftest import token_client

URL = "/api/acl/generate"


def test_a_customer_reissues_their_own(renter, relays):
    response = token_client(renter).post(URL, {}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    acl = body["acl"]
    assert set(acl) == {"user_id", "version", "issued_at", "expires_at", "reason", "regions",
                        "derp_map", "feed_url"}
    assert acl["user_id"] == renter.pk and acl["version"] == 1 and acl["reason"] == "requested"
    assert sorted(acl["regions"]) == sorted(int(k) for k in acl["derp_map"]["Regions"])
    assert acl["feed_url"].startswith("http://testserver/acl/feed/")
    assert AuditEvent.objects.filter(action="acl.issued", actor=renter).exists()


@pytest.mark.parametrize("who", ["admin", "superadmin"])
def test_staff_reissue_for_a_customer_and_never_see_their_url(renter, relays, personas, who):
    response = token_client(personas[who]).post(
        URL, {"user_id": renter.pk, "server_ids": [r.server_id for r in relays]}, format="json")
    assert response.status_code == 201
    acl = response.json()["acl"]
    assert acl["user_id"] == renter.pk and "feed_url" not in acl
    assert AclConfig.objects.filter(user=renter).count() == 1


@pytest.mark.parametrize("who", ["stranger", "distributor"])
def test_nobody_else_reissues_for_a_customer(renter, personas, who):
    refused(token_client(personas[who]).post(URL, {"user_id": renter.pk}, format="json"), 404)
    assert not AclConfig.objects.exists()


def test_an_admin_cannot_reissue_for_a_super_admin(admin_user, superadmin):
    give_rental(superadmin)
    refused(token_client(admin_user).post(URL, {"user_id": superadmin.pk}, format="json"), 404)


def test_an_inactive_rental_is_refused(renter):
    give_rental(renter, state=RentalState.SUSPENDED)
    refused(token_client(renter).post(URL, {}, format="json"), 409, "rental_inactive")
    assert not AclConfig.objects.exists()


def test_a_server_without_the_users_relay_is_refused(renter, relays, admin_user):
    error = refused(token_client(admin_user).post(
        URL, {"user_id": renter.pk, "server_ids": [relays[0].server_id, 999999]}, format="json"),
        400, "servers_not_mapped")
    assert "999999" in error["message"]
    assert not AclConfig.objects.exists()


@pytest.mark.parametrize("body", [
    {"user_id": "abc"}, {"user_id": 1.5}, {"user_id": 0}, {"user_id": 2**64},
    {"server_ids": "x"}, {"server_ids": [0]}, {"server_ids": [True]},
])
def test_bad_input_is_a_400(renter, admin_user, body):
    refused(token_client(admin_user).post(URL, body, format="json"), 400)
    assert not AclConfig.objects.exists()


def test_an_unknown_user_is_not_found(admin_user):
    refused(token_client(admin_user).post(URL, {"user_id": 987654}, format="json"), 404)


def test_anonymous_callers_are_refused(db, anon_api):
    assert anon_api.post(URL, {}, format="json").status_code in (401, 403)
