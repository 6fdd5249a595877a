"""GET /api/logs/system: the audit log for admins and super admins, filtered and paginated."""

import pytest

from tests.conftest import token_client


@pytest.fixture
def api(admin_user):
    return token_client(admin_user)


def _actions(response):
    assert response.status_code == 200, response.content
    return [row["action"] for row in response.json()["results"]]


def test_lists_events_newest_first_in_the_envelope(api, make_event, customer):
    make_event("accounts.registered", actor=customer, target=customer, when="2024-05-01 10:00")
    make_event("accounts.login", actor=customer, target=customer, when="2024-05-01 11:00",
               method="password")
    body = api.get("/api/logs/system").json()
    assert body["success"] is True
    assert (body["count"], body["page"], body["pages"], body["next"], body["previous"]) == (
        2, 1, 1, None, None)
    newest = body["results"][0]
    assert newest["action"] == "accounts.login"
    assert newest["actor"] == customer.email
    assert newest["actor_id"] == customer.pk
    assert newest["target"] == customer.email
    assert (newest["target_type"], newest["target_id"]) == ("accounts.user", str(customer.pk))
    assert newest["ip"] == "192.0.2.10"
    assert newest["details"] == {"method": "password"}


def test_filters_by_actor_id_or_email(api, make_event, customer, distributor):
    make_event("accounts.login", actor=customer)
    make_event("accounts.logout", actor=distributor)
    assert _actions(api.get("/api/logs/system", {"actor": customer.pk})) == ["accounts.login"]
    assert _actions(api.get("/api/logs/system", {"actor": distributor.email.upper()})) == [
        "accounts.logout"]
    assert _actions(api.get("/api/logs/system", {"actor": "nobody@example.com"})) == []


def test_an_actor_filter_by_email_finds_events_of_an_address_that_changed_since(api, make_event,
                                                                                 customer):
    make_event("accounts.login", actor=customer)
    customer.email = "renamed@example.com"
    customer.save()
    assert _actions(api.get("/api/logs/system", {"actor": "renamed@example.com"})) == ["accounts.login"]


def test_filters_by_action_prefix(api, make_event):
    make_event("accounts.login", when="2024-05-01 10:00")
    make_event("accounts.login_failed", when="2024-05-01 11:00")
    make_event("notifications.sent", when="2024-05-01 12:00")
    assert _actions(api.get("/api/logs/system", {"action": "accounts."})) == [
        "accounts.login_failed", "accounts.login"]
    assert _actions(api.get("/api/logs/system", {"action": "notifications"})) == ["notifications.sent"]


def test_filters_by_target_type_or_type_and_id(api, make_event, customer, distributor):
    make_event("accounts.login", target=customer, when="2024-05-01 10:00")
    make_event("accounts.logout", target=distributor, when="2024-05-01 11:00")
    make_event("notifications.test_sent", when="2024-05-01 12:00")
    assert _actions(api.get("/api/logs/system", {"target": "accounts.user"})) == [
        "accounts.logout", "accounts.login"]
    assert _actions(api.get("/api/logs/system", {"target": f"accounts.user:{customer.pk}"})) == [
        "accounts.login"]


def test_filters_by_time_window_inclusive(api, make_event):
    make_event("a.before", when="2024-05-01 09:59")
    make_event("a.start", when="2024-05-01 10:00")
    make_event("a.end", when="2024-05-01 12:00")
    make_event("a.after", when="2024-05-01 12:01")
    window = {"since": "2024-05-01T10:00:00Z", "until": "2024-05-01T12:00:00+00:00"}
    assert _actions(api.get("/api/logs/system", window)) == ["a.end", "a.start"]
    assert _actions(api.get("/api/logs/system", {"since": "2024-05-01T20:00:00+08:00"})) == [
        "a.after", "a.end"]


def test_pages_through_the_log(api, make_event):
    for minute in range(5):
        make_event(f"a.e{minute}", when=f"2024-05-01 10:0{minute}")
    first = api.get("/api/logs/system", {"page_size": 2}).json()
    assert (first["count"], first["page"], first["pages"], first["previous"]) == (5, 1, 3, None)
    assert [r["action"] for r in first["results"]] == ["a.e4", "a.e3"]
    assert "page=2" in first["next"]
    last = api.get("/api/logs/system", {"page_size": 2, "page": 3}).json()
    assert [r["action"] for r in last["results"]] == ["a.e0"]
    assert last["next"] is None and last["previous"] is not None


@pytest.mark.parametrize("query", [
    {"since": "yesterday"},
    {"until": "2024-13-01"},
    {"since": "2024-05-02T00:00:00Z", "until": "2024-05-01T00:00:00Z"},
    {"page_size": "abc"},
    {"page_size": "0"},
    {"page_size": "-3"},
    {"page": "abc"},
    {"actor": "x" * 300},
], ids=lambda q: "&".join(f"{k}={v[:12]}" for k, v in q.items()))
def test_a_bad_filter_value_is_a_400_in_the_envelope(api, make_event, query):
    make_event("accounts.login")
    response = api.get("/api/logs/system", query)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "invalid"
    assert body["error"]["message"]
    assert "results" not in body


@pytest.mark.parametrize("actor", ["²", "9" * 40, "0"])
def test_an_actor_that_names_nobody_finds_nothing(api, make_event, actor):
    make_event("accounts.login")
    assert _actions(api.get("/api/logs/system", {"actor": actor})) == []


def test_a_page_past_the_end_is_404_in_the_envelope(api, make_event):
    make_event("accounts.login")
    response = api.get("/api/logs/system", {"page": 9})
    assert response.status_code == 404
    assert response.json()["success"] is False


@pytest.mark.parametrize("persona", ["distributor", "user", "stranger"])
def test_anyone_but_staff_is_told_nothing_is_there(personas, make_event, persona):
    make_event("accounts.login")
    response = token_client(personas[persona]).get("/api/logs/system")
    assert response.status_code == 404
    body = response.json()
    assert body == {"success": False, "error": {"code": "not_found", "message": body["error"]["message"]}}


def test_super_admin_reads_the_log(superadmin, make_event):
    make_event("accounts.login")
    assert _actions(token_client(superadmin).get("/api/logs/system")) == ["accounts.login"]


def test_anonymous_is_asked_to_authenticate(anon_api, make_event):
    make_event("accounts.login")
    response = anon_api.get("/api/logs/system")
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert "results" not in response.json()
