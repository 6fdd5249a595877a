"""What the relay API does and answers for an operator (and for a customer reading their own)."""

import pytest

from apps.containers import tasks
from apps.containers.models import DerpInstance, InstanceStatus
from apps.servers.drivers import RemoteError
from apps.servers.models import ServerStatus
from tests.conftest import token_client
from tests.containers.conftest import make_server, relay


@pytest.fixture
def api(admin_user):
    return token_client(admin_user)


def test_assign_provisions_the_relays_now_pinned_servers_first(api, fleet):
    pinned = fleet["servers"][3]
    response = api.post("/api/container/assign",
                        {"user_id": fleet["renter"].pk, "servers": 3, "server_ids": [pinned.pk]},
                        format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    new = DerpInstance.objects.get(user=fleet["renter"], server=pinned)
    assert body["report"] == {"created": [new.pk], "restarted": [fleet["stopped"].pk], "retrying": [],
                              "failed": [], "missing": 0}
    assert sorted(i["status"] for i in body["instances"]) == ["running"] * 3
    assert {"id", "server", "server_name", "hostname", "port", "status"} <= set(body["instances"][0])
    assert "admission_token" not in body["instances"][0]


def test_assign_leaves_a_transient_failure_to_the_retry_task(api, renter, fake_engine, monkeypatch):
    server = make_server()
    sent = []
    monkeypatch.setattr(tasks.start_instance, "apply_async", lambda args, **kw: sent.append(args))

    def flaky(instance):
        raise RemoteError("reset", transient=True)

    monkeypatch.setattr(fake_engine, "run_relay", flaky)
    body = api.post("/api/container/assign", {"user_id": renter.pk, "servers": 1}, format="json").json()

    pending = DerpInstance.objects.get(user=renter, server=server)
    assert body["report"]["retrying"] == [pending.pk] and pending.status == InstanceStatus.PENDING
    assert sent == [(pending.pk,)]


def test_allocate_puts_one_relay_on_the_named_server(api, renter, fake_engine):
    server = make_server(port_range_start=35000, port_range_end=35010)
    response = api.post("/api/container/allocate", {"user_id": renter.pk, "server_id": server.pk},
                        format="json")
    assert response.status_code == 201
    instance = response.json()["instance"]
    assert (instance["server"], instance["port"], instance["status"]) == (server.pk, 35000, "running")
    assert len(fake_engine.on(server)) == 1


def test_allocate_that_cannot_start_says_why_with_a_502(api, renter, fake_engine, monkeypatch):
    server = make_server()

    def broken(instance):
        raise RemoteError("no such image", transient=False)

    monkeypatch.setattr(fake_engine, "run_relay", broken)
    response = api.post("/api/container/allocate", {"user_id": renter.pk, "server_id": server.pk},
                        format="json")
    assert response.status_code == 502
    assert "no such image" in response.json()["error"]["message"]
    assert DerpInstance.objects.get(user=renter).status == InstanceStatus.ERROR


def test_stop_one_relay(api, fleet, fake_engine):
    response = api.post("/api/container/stop", {"instance_id": fleet["running"].pk}, format="json")
    assert response.json()["instance"]["status"] == "stopped"


def test_stop_all_of_a_users_running_relays(api, fleet, fake_engine):
    other = relay(fleet["renter"], fleet["servers"][2], engine=fake_engine)
    response = api.post("/api/container/stop", {"user_id": fleet["renter"].pk}, format="json")
    body = response.json()
    assert sorted(i["id"] for i in body["instances"]) == sorted([fleet["running"].pk, other.pk])
    assert body["failed"] == {}
    assert set(DerpInstance.objects.filter(user=fleet["renter"]).values_list("status", flat=True)) == {
        "stopped"}


def test_start_restart_remove(api, fleet, fake_engine):
    stopped, running = fleet["stopped"], fleet["running"]
    assert api.post(f"/api/container/{stopped.pk}/start").json()["instance"]["status"] == "running"
    assert api.post(f"/api/container/{running.pk}/restart").json()["instance"]["status"] == "running"
    assert api.post(f"/api/container/{running.pk}/remove").json()["instance"]["status"] == "removed"


def test_migrate_to_a_named_server_or_the_least_loaded(api, fleet, fake_engine):
    target = fleet["servers"][3]
    moved = api.post(f"/api/container/{fleet['running'].pk}/migrate",
                     {"target_server_id": target.pk}, format="json").json()["instance"]
    assert moved["server"] == target.pk and moved["replaces"] == fleet["running"].pk
    # fleet-a is empty again and fleet-c always was: equal load, the lower id wins
    again = api.post(f"/api/container/{fleet['stopped'].pk}/migrate").json()["instance"]
    assert again["server"] == fleet["servers"][0].pk


def test_list_filters_by_user_server_and_status(api, fleet, stranger, fake_engine):
    relay(stranger, fleet["servers"][0])
    everything = api.get("/api/container/list").json()
    assert everything["count"] == 3
    mine = api.get(f"/api/container/list?user_id={fleet['renter'].pk}&status=stopped").json()
    assert [i["id"] for i in mine["results"]] == [fleet["stopped"].pk]
    on_a = api.get(f"/api/container/list?server_id={fleet['servers'][0].pk}").json()
    assert on_a["count"] == 2


def test_failover_reports_what_moved(api, fleet, fake_engine):
    sick = fleet["servers"][0]
    sick.status = ServerStatus.UNHEALTHY
    sick.save(update_fields=["status"])
    body = api.post("/api/ha/failover").json()
    replacement = DerpInstance.objects.get(replaces=fleet["running"])
    assert body["servers"] == [{"server": sick.pk, "moved": [replacement.pk], "failed": []}]


def test_a_customer_reads_their_relays_in_plain_words(fleet, fake_engine):
    failed = relay(fleet["renter"], fleet["servers"][2], status=InstanceStatus.ERROR)
    failed.last_error = "paramiko: Authentication failed"
    failed.save(update_fields=["last_error"])

    response = token_client(fleet["renter"]).get("/api/container/mine")

    relays = {r["server"]: r for r in response.json()["relays"]}
    assert set(relays) == {"fleet-a", "fleet-b", "fleet-c"}
    assert relays["fleet-a"] | {"id": 0} == {
        "id": 0, "server": "fleet-a", "location": fleet["servers"][0].location,
        "hostname": fleet["servers"][0].public_ip, "port": fleet["running"].port,
        "status": "running", "status_display": "Running", "message": ""}
    assert "could not be set up" in relays["fleet-c"]["message"]
    text = response.content.decode()
    assert "paramiko" not in text
    assert all(i.admission_token not in text for i in DerpInstance.objects.all())


def test_a_customer_sees_only_their_own_relays(fleet, stranger):
    assert token_client(stranger).get("/api/container/mine").json()["relays"] == []


def test_allocate_on_a_server_that_does_not_answer_makes_nothing(api, renter, fake_engine):
    server = make_server()
    fake_engine.down.add(server.pk)
    response = api.post("/api/container/allocate", {"user_id": renter.pk, "server_id": server.pk},
                        format="json")
    assert response.status_code == 502 and response.json()["error"]["code"] == "unreachable"
    assert not DerpInstance.objects.exists()
