"""The Django admin: staff list devices and rename or remove them through the services; derpMap
versions and the download log are read-only."""

import pytest

from apps.acl import services
from apps.acl.models import Device
from apps.audit.models import AuditEvent
from tests.acl.conftest import node_key
from tests.conftest import signed_in_client


@pytest.fixture
def device(renter):
    return services.add_device(user=renter, name="laptop", node_key=node_key(1))


@pytest.fixture
def logged(renter, relays):
    services.take(user=renter, access="json", ip="198.51.100.4")


@pytest.mark.parametrize("who", ["admin", "superadmin"])
def test_staff_see_devices_versions_and_downloads(personas, device, logged, who):
    client = signed_in_client(personas[who])
    assert node_key(1) in client.get("/admin/acl/device/").content.decode()
    assert client.get("/admin/acl/aclconfig/").status_code == 200
    downloads = client.get("/admin/acl/acllog/")
    assert downloads.status_code == 200 and "198.51.100.4" in downloads.content.decode()


def test_versions_and_downloads_are_read_only(admin_user, logged):
    client = signed_in_client(admin_user)
    assert client.get("/admin/acl/aclconfig/add/").status_code == 403
    assert client.get("/admin/acl/acllog/add/").status_code == 403
    assert client.post("/admin/acl/acllog/1/delete/", {"post": "yes"}).status_code == 403


def test_staff_rename_through_the_service(admin_user, device, renter):
    services.add_device(user=renter, name="phone", node_key=node_key(2))
    client = signed_in_client(admin_user)
    url = f"/admin/acl/device/{device.pk}/change/"
    refused = client.post(url, {"name": "phone"})
    assert refused.status_code == 200 and "already have a device with this name" in refused.content.decode()
    assert client.post(url, {"name": "desk"}).status_code == 302
    assert Device.objects.get(pk=device.pk).name == "desk"
    event = AuditEvent.objects.get(action="acl.device_renamed")
    assert event.actor == admin_user and event.details == {"from": "laptop", "to": "desk"}


def test_staff_remove_through_the_service(admin_user, device):
    client = signed_in_client(admin_user)
    response = client.post("/admin/acl/device/", {
        "action": "delete_selected", "_selected_action": [device.pk], "post": "yes"})
    assert response.status_code == 302
    assert not Device.objects.exists()
    assert AuditEvent.objects.filter(action="acl.device_removed", actor=admin_user).exists()


def test_nobody_adds_devices_in_the_admin(admin_user):
    assert signed_in_client(admin_user).get("/admin/acl/device/add/").status_code == 403


def test_customers_have_no_admin(renter, device):
    response = signed_in_client(renter).get("/admin/acl/device/")
    assert response.status_code in (302, 403, 404)
