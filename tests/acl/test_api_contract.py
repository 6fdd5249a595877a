"""The ACL API's contract: strict JSON types for generate and devices (a wrong type is a 400
naming the field, nothing issued or registered), device ids in paths that are whole numbers,
query parameters of the wrong kind refused (never ignored)."""

import pytest

from apps.acl.models import AclConfig, Device
from tests import api_contract as contract
from tests.acl.conftest import node_key
from tests.conftest import token_client


@pytest.mark.parametrize(**contract.wrong({"user_id": contract.NOT_IDS, "server_ids": contract.NOT_ID_LISTS}))
def test_generating_with_a_wrong_type_is_a_400_naming_the_field(renter, relays, field, value):
    before = contract.journal()
    contract.refused_naming(token_client(renter).post("/api/acl/generate", {field: value}, format="json"),
                   field)
    assert contract.journal() == before and not AclConfig.objects.exists()


@pytest.mark.parametrize(**contract.wrong({"name": contract.NOT_STRINGS, "node_key": contract.NOT_STRINGS}))
def test_registering_a_device_with_a_wrong_type_is_a_400(customer, field, value):
    body = {"name": "laptop", "node_key": node_key(1), field: value}
    before = contract.journal()
    contract.refused_naming(token_client(customer).post("/api/acl/devices", body, format="json"), field)
    assert contract.journal() == before and not Device.objects.exists()


@pytest.mark.parametrize("path", ["/api/acl/generate", "/api/acl/devices"])
def test_an_array_body_is_a_400(customer, path):
    contract.refused_as_not_an_object(token_client(customer).post(path, [{"name": "x"}], format="json"))
    assert not Device.objects.exists()


@pytest.fixture
def device(customer):
    token_client(customer).post("/api/acl/devices", {"name": "laptop", "node_key": node_key(1)},
                                format="json")
    return Device.objects.get()


@pytest.mark.parametrize(**contract.wrong({"name": contract.NOT_STRINGS}))
def test_renaming_with_a_wrong_type_is_a_400(customer, device, field, value):
    before = contract.journal()
    contract.refused_naming(token_client(customer).patch(f"/api/acl/devices/{device.pk}", {field: value},
                                                format="json"), field)
    device.refresh_from_db()
    assert device.name == "laptop" and contract.journal() == before


@pytest.mark.parametrize("pk", [str(contract.HUGE), "0", "987654"])
def test_an_out_of_range_device_id_is_a_404(customer, device, pk):
    api = token_client(customer)
    contract.not_found(api.patch(f"/api/acl/devices/{pk}", {"name": "x"}, format="json"))
    contract.not_found(api.delete(f"/api/acl/devices/{pk}"))
    assert Device.objects.count() == 1


@pytest.mark.parametrize("pk", ["abc", "-1", "1.5"])
def test_a_device_id_that_is_not_a_number_matches_no_route(customer, pk):
    contract.not_found(token_client(customer).delete(f"/api/acl/devices/{pk}"))


@pytest.mark.parametrize("path, query", [
    ("/api/acl/devices", "user_id=abc"), ("/api/acl/devices", f"user_id={contract.HUGE}"),
    ("/api/acl/logs", "user_id=-1"), ("/api/acl/logs", "format=pdf"),
    ("/api/acl/download", "format=pdf"), ("/api/acl/download", "format=json&omit_default_regions=yes"),
])
def test_query_parameters_of_the_wrong_kind_are_a_400_naming_them(superadmin, path, query):
    name = query.split("&")[-1].split("=")[0]
    contract.refused_naming(token_client(superadmin).get(f"{path}?{query}"), name)


def test_the_new_version_is_answered_with_its_keys(renter, relays):
    body = token_client(renter).post("/api/acl/generate", {}, format="json").json()
    assert body["success"] is True
    assert {"user_id", "version", "regions", "derp_map", "feed_url"} <= set(body["acl"])
