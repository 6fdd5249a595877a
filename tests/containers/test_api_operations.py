"""What the relay API does and answers for an operator (and for a customer reading their own).
Every change answers 202 with the operation that records it; a worker (run_operations here)
does the remote part and GET /api/operations/<id> tells the outcome."""

import pytest

from apps.containers.models import DerpInstance, InstanceStatus
from apps.operations.models import Operation, OperationState
from apps.servers.drivers import RemoteError
from apps.servers.models import ServerStatus
from tests.conftest import token_client
from tests.containers.conftest import make_server, relay, statuses
from tests.operations.support import accepted, followed, run_until_finished


@pytest.fixture
def api(admin_user):
    return token_client(admin_user)


def test_assign_provisions_the_relays_pinned_servers_first(api, fleet, run_operations):
    pinned = fleet["servers"][3]
    response = api.post("/api/container/assign",
                        {"user_id": fleet["renter"].pk, "servers": 3, "server_ids": [pinned.pk]},
                        format="json")

    operation = accepted(response, kind="provision")
    assert operation["customer_id"] == fleet["renter"].pk
    assert not DerpInstance.objects.filter(server=pinned).exists()  # nothing before the worker

    assert run_operations() == 1

    new = DerpInstance.objects.get(user=fleet["renter"], server=pinned)
    done = followed(api, operation)
    assert done["state"] == "done" and done["progress"] == 100 and done["error"] == ""
    assert done["result"] == {"created": [new.pk], "restarted": [fleet["stopped"].pk],
                              "failed": [], "rolled_back": [], "missing": 0}
    listed = api.get(f"/api/container/list?user_id={fleet['renter'].pk}").json()["results"]
    assert sorted(i["status"] for i in listed) == ["running"] * 3
    assert {"id", "server", "server_name", "hostname", "port", "status"} <= set(listed[0])
    assert "admission_token" not in listed[0]


def test_assign_leaves_a_transient_failure_to_the_operations_retry(api, renter, fake_engine,
                                                                   monkeypatch, run_operations):
    server = make_server()

    def flaky(instance):
        raise RemoteError("reset", transient=True)

    monkeypatch.setattr(fake_engine, "run_relay", flaky)
    operation = accepted(api.post("/api/container/assign", {"user_id": renter.pk, "servers": 1},
                                  format="json"))
    run_operations()

    pending = DerpInstance.objects.get(user=renter, server=server)
    assert pending.status == InstanceStatus.PENDING and pending.last_error == "reset"
    retrying = followed(api, operation)
    assert (retrying["state"], retrying["attempts"], retrying["error_code"]) == (
        "queued", 1, "start_retrying")
    assert "could not be started yet" in retrying["error"]


def test_allocate_puts_one_relay_on_the_named_server(api, renter, fake_engine, run_operations):
    server = make_server(port_range_start=35000, port_range_end=35010)
    response = api.post("/api/container/allocate", {"user_id": renter.pk, "server_id": server.pk},
                        format="json")
    operation = accepted(response, kind="allocate")
    assert operation["server_id"] == server.pk and fake_engine.calls == []

    run_operations()

    instance = DerpInstance.objects.get(user=renter)
    assert (instance.server, instance.port, instance.status) == (server, 35000, "running")
    assert len(fake_engine.on(server)) == 1
    done = followed(api, operation)
    assert done["state"] == "done"
    assert done["result"] == {"instance": instance.pk, "port": 35000}


def test_allocate_that_cannot_start_says_why(api, renter, fake_engine, monkeypatch,
                                             run_operations):
    server = make_server()

    def broken(instance):
        raise RemoteError("no such image", transient=False)

    monkeypatch.setattr(fake_engine, "run_relay", broken)
    operation = accepted(api.post("/api/container/allocate",
                                  {"user_id": renter.pk, "server_id": server.pk}, format="json"))
    run_operations()

    failed = followed(api, operation)
    assert failed["state"] == "failed" and failed["error_code"] == "start_failed"
    assert "no such image" in failed["error"] and server.name in failed["error"]
    assert DerpInstance.objects.get(user=renter).status == InstanceStatus.ERROR


def test_stop_one_relay(api, fleet, fake_engine, run_operations):
    running = fleet["running"]
    operation = accepted(api.post("/api/container/stop", {"instance_id": running.pk},
                                  format="json"), kind="stop")
    assert operation["instance_id"] == running.pk
    assert DerpInstance.objects.get(pk=running.pk).status == InstanceStatus.RUNNING

    run_operations()

    assert followed(api, operation)["result"] == {"instance": running.pk, "status": "stopped"}
    assert DerpInstance.objects.get(pk=running.pk).status == InstanceStatus.STOPPED
    assert not fake_engine.on(running.server)[running.container_name]["running"]


def test_stop_all_of_a_users_running_relays(api, fleet, fake_engine, run_operations):
    other = relay(fleet["renter"], fleet["servers"][2], engine=fake_engine)
    response = api.post("/api/container/stop", {"user_id": fleet["renter"].pk}, format="json")

    assert response.status_code == 202
    operations = response.json()["operations"]
    assert sorted(o["instance_id"] for o in operations) == sorted([fleet["running"].pk, other.pk])
    assert {o["kind"] for o in operations} == {"stop"}

    assert run_operations() == 2

    assert {followed(api, o)["state"] for o in operations} == {"done"}
    assert set(DerpInstance.objects.filter(user=fleet["renter"]).values_list("status", flat=True)) == {
        "stopped"}


def test_start_restart_remove(api, fleet, fake_engine, run_operations):
    stopped, running = fleet["stopped"], fleet["running"]
    start = accepted(api.post(f"/api/container/{stopped.pk}/start"), kind="start")
    restart = accepted(api.post(f"/api/container/{running.pk}/restart"), kind="restart")
    run_operations()
    assert followed(api, start)["result"] == {"instance": stopped.pk, "status": "running"}
    assert followed(api, restart)["result"] == {"instance": running.pk, "status": "running"}
    assert ("stop", running.server_id) in [(c[0], c[1]) for c in fake_engine.calls]

    remove = accepted(api.post(f"/api/container/{running.pk}/remove"), kind="remove")
    run_operations()
    assert followed(api, remove)["result"] == {"instance": running.pk, "status": "removed"}
    assert statuses(stopped, running) == ["running", "removed"]
    assert running.container_name not in fake_engine.on(running.server)


def test_migrate_to_a_named_server_or_the_least_loaded(api, fleet, fake_engine, run_operations):
    target = fleet["servers"][3]
    first = accepted(api.post(f"/api/container/{fleet['running'].pk}/migrate",
                              {"target_server_id": target.pk}, format="json"), kind="migrate")
    run_operations()
    moved = DerpInstance.objects.get(replaces=fleet["running"])
    assert (moved.server, moved.status) == (target, InstanceStatus.RUNNING)
    assert followed(api, first)["result"] == {"instance": moved.pk, "server": target.pk,
                                              "port": moved.port}
    # fleet-a is empty again and fleet-c always was: equal load, the lower id wins
    again = accepted(api.post(f"/api/container/{fleet['stopped'].pk}/migrate"))
    run_operations()
    assert followed(api, again)["result"]["server"] == fleet["servers"][0].pk
    assert DerpInstance.objects.get(replaces=fleet["stopped"]).status == InstanceStatus.STOPPED


def test_list_filters_by_user_server_and_status(api, fleet, stranger, fake_engine):
    relay(stranger, fleet["servers"][0])
    everything = api.get("/api/container/list").json()
    assert everything["count"] == 3
    mine = api.get(f"/api/container/list?user_id={fleet['renter'].pk}&status=stopped").json()
    assert [i["id"] for i in mine["results"]] == [fleet["stopped"].pk]
    on_a = api.get(f"/api/container/list?server_id={fleet['servers'][0].pk}").json()
    assert on_a["count"] == 2


def test_failover_reports_what_moved(api, fleet, fake_engine, run_operations):
    sick = fleet["servers"][0]
    sick.status = ServerStatus.UNHEALTHY
    sick.save(update_fields=["status"])
    operation = accepted(api.post("/api/ha/failover"), kind="failover")

    run_operations()

    replacement = DerpInstance.objects.get(replaces=fleet["running"])
    assert followed(api, operation)["result"] == {
        "servers": {str(sick.pk): {"moved": [replacement.pk], "failed": {}}}}


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


def test_allocate_on_a_server_that_does_not_answer_makes_nothing(api, renter, fake_engine,
                                                                run_operations, time_machine):
    server = make_server()
    fake_engine.down.add(server.pk)
    operation = accepted(api.post("/api/container/allocate",
                                  {"user_id": renter.pk, "server_id": server.pk}, format="json"))

    run_operations()
    retrying = followed(api, operation)
    assert (retrying["state"], retrying["error_code"]) == ("queued", "unreachable")

    finished = run_until_finished(run_operations, time_machine, operation["id"])

    assert (finished.state, finished.error_code) == (OperationState.FAILED, "unreachable")
    assert finished.attempts == finished.max_attempts
    assert "unreachable" in followed(api, operation)["error"]
    assert not DerpInstance.objects.exists()
    server.refresh_from_db()
    assert "unreachable" in server.last_error
    assert Operation.objects.count() == 1
