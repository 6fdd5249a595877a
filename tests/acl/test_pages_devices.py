"""/acl/devices/: add, rename and remove devices, with the hint where to find a node key; refusals
come back on the page with the reason; another customer's device is not found."""

import pytest

from apps.acl import services
from apps.acl.models import Device
from tests.acl.conftest import node_key, paid_code
from tests.conftest import signed_in_client

URL = "/acl/devices/"


def test_the_page_says_where_to_find_the_key(customer):
    page = signed_in_client(customer).get(URL).content.decode()
    assert "tailscale status --json" in page and "PublicKey" in page and "admin console" in page


def test_adding_a_device(customer):
    client = signed_in_client(customer)
    response = client.post(URL, {"name": "laptop", "node_key": node_key(5)[8:].upper()})
    assert response.status_code == 302 and response["Location"] == URL
    assert Device.objects.get(user=customer).node_key == node_key(5)
    assert "Device laptop added" in client.get(URL).content.decode()


@pytest.mark.parametrize(("data", "status", "says"), [
    ({"name": "laptop", "node_key": "nodekey:123"}, 400, "64 hexadecimal characters"),
    ({"name": "laptop", "node_key": ""}, 400, "This field is required"),
    ({"name": "", "node_key": node_key(1)}, 400, "This field is required"),
])
def test_bad_input_comes_back_with_the_reason(customer, data, status, says):
    response = signed_in_client(customer).post(URL, data)
    assert response.status_code == status and says in response.content.decode()
    assert not Device.objects.exists()


def test_a_full_plan_comes_back_with_the_reason(customer):
    paid_code(customer, max_devices=1)
    client = signed_in_client(customer)
    client.post(URL, {"name": "a", "node_key": node_key(1)})
    response = client.post(URL, {"name": "b", "node_key": node_key(2)})
    assert response.status_code == 409 and "allows 1 device;" in response.content.decode()
    assert Device.objects.count() == 1


def test_renaming_and_removing(customer):
    device = services.add_device(user=customer, name="laptop", node_key=node_key(1))
    services.add_device(user=customer, name="phone", node_key=node_key(2))
    client = signed_in_client(customer)

    refused = client.post(f"{URL}{device.pk}/rename/", {"name": "phone"})
    assert refused.status_code == 409 and "already have a device with this name" in refused.content.decode()
    assert client.post(f"{URL}{device.pk}/rename/", {"name": "work"}).status_code == 302
    assert Device.objects.get(pk=device.pk).name == "work"

    assert client.post(f"{URL}{device.pk}/remove/").status_code == 302
    assert not Device.objects.filter(pk=device.pk).exists()


def test_another_customers_device_is_not_found(customer, stranger):
    device = services.add_device(user=customer, name="laptop", node_key=node_key(1))
    client = signed_in_client(stranger)
    assert client.post(f"{URL}{device.pk}/rename/", {"name": "mine"}).status_code == 404
    assert client.post(f"{URL}{device.pk}/remove/").status_code == 404
    assert client.post(f"{URL}99999999999999999/remove/").status_code == 404
    assert Device.objects.get(pk=device.pk).name == "laptop"


def test_rename_and_remove_are_posts_only(customer):
    device = services.add_device(user=customer, name="laptop", node_key=node_key(1))
    assert signed_in_client(customer).get(f"{URL}{device.pk}/remove/").status_code == 405
    assert Device.objects.exists()
