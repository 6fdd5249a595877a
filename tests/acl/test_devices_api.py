"""Devices by API: a customer registers, renames and removes their own; a node key belongs to one
account; the plan's device limit holds; everyone else sees 404 for a device that is not theirs."""

import pytest

from apps.acl.models import Device
from apps.audit.models import AuditEvent
from tests.acl.conftest import node_key, paid_code
from tests.commerce.helpers import refused
from tests.conftest import token_client

URL = "/api/acl/devices"


def add(client, name="laptop", key=node_key(1)):
    return client.post(URL, {"name": name, "node_key": key}, format="json")


def test_a_customer_registers_a_device_and_the_key_is_normalised(customer):
    bare = node_key(1).removeprefix("nodekey:").upper()
    response = add(token_client(customer), key=bare)
    assert response.status_code == 201
    device = response.json()["device"]
    assert device["node_key"] == node_key(1) and device["name"] == "laptop"
    assert device["user"] == customer.pk and device["last_seen_at"] is None
    assert AuditEvent.objects.filter(action="acl.device_added", actor=customer).exists()


def test_a_key_registered_by_another_account_is_refused(customer, stranger):
    add(token_client(stranger), key=node_key(1))
    error = refused(add(token_client(customer), key=node_key(1)), 409, "duplicate_node_key")
    assert "already registered" in error["message"]
    assert not Device.objects.filter(user=customer).exists()


def test_the_same_key_twice_and_the_same_name_twice_are_refused(customer):
    client = token_client(customer)
    add(client, name="laptop", key=node_key(1))
    refused(add(client, name="phone", key=node_key(1)), 409, "duplicate_node_key")
    refused(add(client, name="laptop", key=node_key(2)), 409, "duplicate_name")
    assert Device.objects.filter(user=customer).count() == 1


@pytest.mark.parametrize("body", [
    {"name": "laptop", "node_key": "nodekey:abc"}, {"name": "laptop"}, {"node_key": node_key(1)},
    {"name": "", "node_key": node_key(1)}, {"name": "x" * 65, "node_key": node_key(1)},
    {"name": ["laptop"], "node_key": node_key(1)}, {"name": "laptop", "node_key": 12345},
    {"name": "laptop", "node_key": "k" * 500},
])
def test_bad_input_is_a_400_and_saves_nothing(customer, body):
    response = token_client(customer).post(URL, body, format="json")
    refused(response, 400)
    assert not Device.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(customer):
    client = token_client(customer)
    refused(client.post(URL, "[1, 2]", content_type="application/json"), 400)
    refused(client.post(URL, "{not json", content_type="application/json"), 400)


def test_the_plans_device_limit_holds(customer, settings):
    settings.DEFAULT_MAX_DEVICES = 10
    paid_code(customer, max_devices=2)
    client = token_client(customer)
    assert add(client, "a", node_key(1)).status_code == 201
    assert add(client, "b", node_key(2)).status_code == 201
    error = refused(add(client, "c", node_key(3)), 409, "too_many_devices")
    assert "allows 2 devices" in error["message"]
    assert Device.objects.filter(user=customer).count() == 2


def test_without_a_plan_the_default_limit_holds(customer, settings):
    settings.DEFAULT_MAX_DEVICES = 1
    client = token_client(customer)
    add(client, "a", node_key(1))
    refused(add(client, "b", node_key(2)), 409, "too_many_devices")


def test_the_most_generous_plan_the_customer_rents_sets_the_limit(customer):
    paid_code(customer, max_devices=1)
    paid_code(customer, max_devices=3)
    client = token_client(customer)
    assert [add(client, n, node_key(i)).status_code for i, n in enumerate("abcd")] == [201, 201, 201, 409]


def test_a_customer_lists_renames_and_removes_their_devices(customer):
    client = token_client(customer)
    pk = add(client).json()["device"]["id"]
    listed = client.get(URL).json()
    assert listed["success"] and [d["id"] for d in listed["results"]] == [pk]

    renamed = client.patch(f"{URL}/{pk}", {"name": "work laptop"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["device"]["name"] == "work laptop"
    refused(client.patch(f"{URL}/{pk}", {"name": ""}, format="json"), 400, "invalid")

    assert client.delete(f"{URL}/{pk}").json() == {"success": True, "removed": pk}
    assert not Device.objects.exists()
    refused(client.delete(f"{URL}/{pk}"), 404)
    assert AuditEvent.objects.filter(action="acl.device_removed").count() == 1


@pytest.mark.parametrize("who", ["stranger", "distributor"])
def test_someone_elses_device_is_not_found(customer, personas, who):
    pk = add(token_client(customer)).json()["device"]["id"]
    other = token_client(personas[who])
    assert other.get(URL).json()["results"] == []
    refused(other.patch(f"{URL}/{pk}", {"name": "mine"}, format="json"), 404)
    refused(other.delete(f"{URL}/{pk}"), 404)
    assert Device.objects.get(pk=pk).name == "laptop"


@pytest.mark.parametrize("pk", ["abc", "0", "-1", "99999999999999999999", "1.5"])
def test_a_malformed_device_id_is_not_found(customer, pk):
    refused(token_client(customer).delete(f"{URL}/{pk}"), 404)


@pytest.mark.parametrize("who", ["admin", "superadmin"])
def test_staff_see_every_device_and_may_remove_one_but_register_none(customer, personas, who):
    pk = add(token_client(customer)).json()["device"]["id"]
    staff = token_client(personas[who])
    assert [d["id"] for d in staff.get(URL, {"user_id": customer.pk}).json()["results"]] == [pk]
    refused(add(staff, key=node_key(9)), 403, "not_a_customer")
    assert staff.delete(f"{URL}/{pk}").status_code == 200
    assert AuditEvent.objects.filter(action="acl.device_removed", actor=personas[who]).exists()


def test_anonymous_callers_are_refused(db, anon_api):
    assert anon_api.get(URL).status_code in (401, 403)
    assert anon_api.post(URL, {"name": "x", "node_key": node_key(1)}, format="json").status_code in (401, 403)
    assert not Device.objects.exists()
