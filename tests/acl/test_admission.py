"""POST /api/acl/admit/<token>: derper's --verify-client-url protocol. 200 {"Allow": true} only for
a registered device of the relay's user, while the relay is live, the rental active and the
derpMap valid; {"Allow": false} for everything else, malformed input included — never a 500."""

import json

import pytest
from django.test import Client

from apps.accounts.models import RentalState
from apps.acl import services
from apps.containers.models import InstanceStatus
from tests.acl.conftest import admit, ask, give_rental, make_server, node_key, relay

VALID = {"NodePublic": node_key(1), "Source": "1.2.3.4"}


@pytest.fixture
def relay_a(relays):
    return relays[0]


@pytest.fixture
def device(renter):
    return services.add_device(user=renter, name="laptop", node_key=node_key(1))


@pytest.fixture
def issued(renter, relays):
    return services.issue_version(user=renter, reason="test")


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)  # derper sends no CSRF token and no cookie


def test_a_registered_device_is_admitted(client, relay_a, device, issued, recorded):
    assert ask(client, relay_a, node_key(1), source="198.51.100.20") is True
    assert [note[:3] for note in recorded] == [(device.pk, relay_a.pk, "198.51.100.20")]


def test_a_relay_being_moved_still_admits(client, relay_a, device, issued):
    relay_a.status = InstanceStatus.MIGRATING
    relay_a.save(update_fields=["status"])
    assert ask(client, relay_a, node_key(1)) is True


def test_an_unknown_key_is_denied_and_counted(client, relay_a, device, issued, recorded):
    assert ask(client, relay_a, node_key(2)) is False
    assert [note[:2] for note in recorded] == [(None, relay_a.pk)]


def test_another_users_device_is_denied(client, relay_a, issued, stranger):
    services.add_device(user=stranger, name="theirs", node_key=node_key(3))
    assert ask(client, relay_a, node_key(3)) is False


def test_a_device_is_admitted_on_every_relay_of_its_user_only(client, relays, device, issued, stranger):
    assert [ask(client, r, node_key(1)) for r in relays] == [True, True, True]
    give_rental(stranger)
    theirs = relay(stranger, make_server())
    services.issue_version(user=stranger, reason="test")
    assert ask(client, theirs, node_key(1)) is False


@pytest.mark.parametrize("status", [InstanceStatus.PENDING, InstanceStatus.STOPPED,
                                    InstanceStatus.REMOVING, InstanceStatus.REMOVED, InstanceStatus.ERROR])
def test_a_relay_that_is_not_live_admits_nobody(client, relay_a, device, issued, status):
    relay_a.status = status
    relay_a.save(update_fields=["status"])
    assert ask(client, relay_a, node_key(1)) is False


@pytest.mark.parametrize("state", [RentalState.NONE, RentalState.SUSPENDED, RentalState.DEREGISTERED])
def test_a_rental_that_is_not_active_admits_nobody(client, renter, relay_a, device, issued, state):
    give_rental(renter, state=state)
    assert ask(client, relay_a, node_key(1)) is False


def test_a_rental_past_its_end_admits_nobody(client, renter, relay_a, device, issued):
    renter.rental_expiry = renter.date_joined
    renter.save(update_fields=["rental_expiry"])
    assert ask(client, relay_a, node_key(1)) is False


def test_a_deactivated_account_admits_nobody(client, renter, relay_a, device, issued):
    renter.is_active = False
    renter.save(update_fields=["is_active"])
    assert ask(client, relay_a, node_key(1)) is False


def test_without_a_derpmap_nobody_is_admitted(client, relay_a, device):
    assert ask(client, relay_a, node_key(1)) is False


def test_unknown_and_revoked_tokens_are_denied(client, renter, relay_a, device, issued):
    assert admit(client, "x" * 32, VALID).json() == {"Allow": False}
    assert admit(client, "t" * 500, VALID).json() == {"Allow": False}
    services.destroy_all(user=renter)
    assert ask(client, relay_a, node_key(1)) is False



@pytest.mark.parametrize("body", [
    b"", b"null", b"[]", b"42", b'"nodekey"', b"{}", b"not json", b"{\"NodePublic\":", b"\xff\xfe\x00",
    b"[" * 5000, json.dumps({"NodePublic": node_key(1)}).encode(),
    json.dumps({"Source": "1.2.3.4"}).encode(),
    json.dumps({"NodePublic": node_key(1).upper(), "Source": "1.2.3.4"}).encode(),
    json.dumps({"NodePublic": node_key(1)[8:], "Source": "1.2.3.4"}).encode(),
    json.dumps({"NodePublic": node_key(1) + "\n", "Source": "1.2.3.4"}).encode(),
    json.dumps({"NodePublic": 1, "Source": "1.2.3.4"}).encode(),
    json.dumps({"NodePublic": node_key(1), "Source": ["1.2.3.4"]}).encode(),
    json.dumps({**VALID, "pad": "x" * 4100}).encode(),
])
def test_malformed_bodies_are_refused_with_200(client, relay_a, device, issued, body, recorded):
    response = admit(client, relay_a.admission_token, body)
    assert response.status_code == 200
    assert response.json() == {"Allow": False}
    assert recorded == []  # refused before any decision


def test_a_body_longer_than_4_kib_is_refused_whatever_the_header_says(client, relay_a, device, issued):
    body = json.dumps({**VALID, "pad": "x" * 4100}).encode()
    assert admit(client, relay_a.admission_token, body, CONTENT_LENGTH="100").json() == {"Allow": False}
    assert admit(client, relay_a.admission_token, json.dumps(VALID).encode(),
                 CONTENT_LENGTH="nonsense").json() == {"Allow": False}


def test_the_exact_derper_request_works_with_any_content_type(client, relay_a, device, issued):
    raw = b'{"NodePublic":"' + node_key(1).encode() + b'","Source":"100.64.0.1"}'
    for content_type in ("", "application/json", "text/plain"):
        response = client.generic("POST", f"/api/acl/admit/{relay_a.admission_token}", raw,
                                  content_type=content_type)
        assert response.json() == {"Allow": True}
        assert response["Content-Type"] == "application/json"


def test_no_cookie_no_session_no_csrf(client, relay_a, device, issued):
    response = admit(client, relay_a.admission_token, VALID)
    assert response.status_code == 200 and response.json() == {"Allow": True}
    assert not response.cookies
    assert "Set-Cookie" not in response


def test_only_post_is_answered(client, relay_a, device, issued):
    response = client.get(f"/api/acl/admit/{relay_a.admission_token}")
    assert response.status_code == 405 and response.json() == {"Allow": False}


def test_a_cache_hit_makes_no_query(client, relay_a, device, issued, django_assert_num_queries):
    assert ask(client, relay_a, node_key(1)) is True
    with django_assert_num_queries(0):
        assert ask(client, relay_a, node_key(1)) is True
        assert ask(client, relay_a, node_key(2)) is False


# Unknown tokens (never cached, limited per calling address): test_admission_unknown_tokens.py


def test_a_broken_database_refuses_rather_than_failing(client, relay_a, device, issued, monkeypatch):
    from apps.acl import admission

    def broken(*args):
        raise RuntimeError("database is gone")

    monkeypatch.setattr(admission, "decide", broken)
    response = admit(client, relay_a.admission_token, VALID)
    assert response.status_code == 503 and response.json() == {"Allow": False}


def test_the_admission_url_is_answered_before_the_rest_of_the_middleware(client, relay_a, device, issued):
    response = admit(client, relay_a.admission_token, VALID, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.json() == {"Allow": True}
    assert "X-Frame-Options" not in response and "Content-Language" not in response
    assert "X-Frame-Options" in client.post("/api/acl/ping")  # the baseline has the whole stack


@pytest.mark.parametrize("path", ["/api/acl/admit/", "/api/acl/admit/a/b"])
def test_anything_else_under_the_prefix_is_an_ordinary_404(client, db, path):
    response = client.post(path, b"{}", content_type="")
    assert response.status_code == 404 and response.json()["success"] is False
