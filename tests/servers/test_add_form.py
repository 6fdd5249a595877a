"""The add form on its own: the credential is never rendered back, and an operator's
certificate must fit its key and name the server's domain."""

import json

import pytest

from apps.operations.models import Operation
from apps.servers import certs
from apps.servers.forms import AddServerForm
from apps.servers.models import Server
from tests.conftest import token_client
from tests.operations.support import accepted
from tests.servers.conftest import CLIENT_KEY


def _pair(name: str) -> tuple[str, str]:
    cert_pem, key_pem = certs.make_self_signed(name)
    return cert_pem.decode(), key_pem.decode()


def test_the_secret_fields_show_back_what_was_typed_and_nothing_else(new_server_data):
    _cert_pem, key_pem = _pair("derp.example.com")
    form = AddServerForm(data={**new_server_data, "key_pem": key_pem, "max_containers": 0})

    assert not form.is_valid()
    html = form.as_div()
    assert CLIENT_KEY.splitlines()[1] in html and key_pem.splitlines()[1] in html
    assert 'value="sh-1"' in html  # the other fields are kept for the correction
    assert 'autocomplete="off"' in str(form["ssh_secret"])
    assert "PRIVATE KEY" not in AddServerForm().as_div()  # a fresh form holds no credential


def test_every_field_is_in_exactly_one_section():
    form = AddServerForm()
    placed = [field.name for _title, fields in form.sections() for field in fields]

    assert sorted(placed) == sorted(form.fields)
    assert [str(title) for title, _fields in form.sections()] == [
        "Connection", "SSH credentials", "Placement", "Limits"]


@pytest.mark.parametrize("cert_name", ["derp.example.com", "*.example.com"])
def test_a_certificate_for_the_domain_is_accepted(new_server_data, cert_name):
    cert_pem, key_pem = _pair(cert_name)
    form = AddServerForm(data={**new_server_data, "domain": "DERP.example.com",
                               "cert_pem": cert_pem, "key_pem": key_pem})

    assert form.is_valid(), form.errors
    assert form.new_server().domain == "derp.example.com"


def test_a_certificate_for_another_name_is_refused(new_server_data):
    cert_pem, key_pem = _pair("other.example.org")
    form = AddServerForm(data={**new_server_data, "domain": "derp.example.com",
                               "cert_pem": cert_pem, "key_pem": key_pem})

    assert form.errors["cert_pem"] == ["This certificate is not for derp.example.com."]


def test_a_key_of_another_certificate_is_refused(new_server_data):
    cert_pem, _key = _pair("derp.example.com")
    _cert, other_key = _pair("derp.example.com")
    form = AddServerForm(data={**new_server_data, "domain": "derp.example.com",
                               "cert_pem": cert_pem, "key_pem": other_key})

    assert "key_pem" in form.errors


def test_a_domain_server_keeps_the_operators_certificate(fleet_admin, remote, new_server_data,
                                                          run_operations):
    cert_pem, key_pem = _pair("derp.example.com")
    body = {**new_server_data, "domain": "derp.example.com", "cert_pem": cert_pem,
            "key_pem": key_pem}

    response = token_client(fleet_admin).post("/api/server/add", body, format="json")

    accepted(response, kind="add_server")
    assert key_pem.splitlines()[1] not in json.dumps(Operation.objects.get().args)
    run_operations()
    server = Server.objects.get()
    assert server.status == "healthy"
    assert server.cert_pem == cert_pem and server.cert_fingerprint == ""
    assert key_pem.splitlines()[1] not in response.content.decode()
    assert remote.files[f"/etc/derpmgr/certs/{server.pk}/derp.example.com.key"] == key_pem.encode()
