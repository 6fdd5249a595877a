"""Bad input to POST /api/server/add: a 400 naming the field at once, no Server row, no
operation, no remote call."""

import pytest

from apps.audit.models import AuditEvent
from apps.operations.models import Operation
from apps.servers.models import Server
from tests.conftest import token_client
from tests.servers.conftest import nothing_remote_happened, refused

ENCRYPTED_KEY = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABBx
-----END OPENSSH PRIVATE KEY-----
"""

BAD_INPUT = {  # case: (changes to a valid body, field named in the refusal)
    "invalid IP": ({"public_ip": "300.1.2.3"}, "public_ip"),
    "IP is a name": ({"public_ip": "example.com"}, "public_ip"),
    "no IP": ({"public_ip": ""}, "public_ip"),
    "no name": ({"name": "  "}, "name"),
    "empty range (no start)": ({"port_range_start": ""}, "port_range_start"),
    "empty range (no end)": ({"port_range_end": None}, "port_range_end"),
    "inverted range": ({"port_range_start": 31000, "port_range_end": 30000}, "port_range_end"),
    "range below 1024": ({"port_range_start": 80, "port_range_end": 90}, "port_range_start"),
    "range above 65535": ({"port_range_end": 70000}, "port_range_end"),
    "range overlaps SSH": ({"ssh_port": 30050}, "port_range_start"),
    "range overlaps SSH on a name": ({"ssh_host": "127.0.0.2", "ssh_port": 30000},
                                     "port_range_start"),
    "range a fraction": ({"port_range_start": 30000.5}, "port_range_start"),
    "max containers 0": ({"max_containers": 0}, "max_containers"),
    "max containers negative": ({"max_containers": -3}, "max_containers"),
    "max containers a word": ({"max_containers": "many"}, "max_containers"),
    "bad key text": ({"ssh_secret": "not a key at all"}, "ssh_secret"),
    "encrypted key": ({"ssh_secret": ENCRYPTED_KEY}, "ssh_secret"),
    "no secret": ({"ssh_secret": ""}, "ssh_secret"),
    "blank password": ({"ssh_auth": "password", "ssh_secret": "   "}, "ssh_secret"),
    "unknown auth": ({"ssh_auth": "kerberos"}, "ssh_auth"),
    "SSH port 0": ({"ssh_port": 0}, "ssh_port"),
    "SSH port too high": ({"ssh_port": 65536}, "ssh_port"),
    "bad SSH user": ({"ssh_user": "root; rm -rf /"}, "ssh_user"),
    "bad SSH host": ({"ssh_host": "-oProxyCommand=evil"}, "ssh_host"),
    "bad phone": ({"aliyun_account": "call me"}, "aliyun_account"),
    "bad domain": ({"domain": "not a domain"}, "domain"),
    "negative quota": ({"monthly_quota_gb": -1}, "monthly_quota_gb"),
    "reset day 0": ({"quota_reset_day": 0}, "quota_reset_day"),
    "reset day 29": ({"quota_reset_day": 29}, "quota_reset_day"),
    "bad fingerprint": ({"expected_host_key_fingerprint": "MD5:aa:bb"},
                        "expected_host_key_fingerprint"),
    "certificate without key": ({"domain": "derp.example.com", "cert_pem": "x"}, "key_pem"),
    "certificate without domain": ({"cert_pem": "x", "key_pem": "y"}, "domain"),
    "certificate not PEM": ({"domain": "derp.example.com", "cert_pem": "x", "key_pem": "y"},
                            "cert_pem"),
    "bad image": ({"derp_image": "Bad Image"}, "derp_image"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_a_400_naming_the_field_and_nothing_happens(
        fleet_admin, remote, fake_engine, new_server_data, case):
    changes, field = BAD_INPUT[case]
    response = token_client(fleet_admin).post("/api/server/add", {**new_server_data, **changes},
                                             format="json")

    error = refused(response, 400, "invalid")
    assert field in error["fields"], error
    assert Server.objects.count() == 0 and not Operation.objects.exists()
    assert nothing_remote_happened(remote, fake_engine)
    assert not AuditEvent.objects.filter(action__regex=r"^(servers|operations)\.").exists()


def test_a_body_that_is_not_an_object_is_a_400(fleet_admin, remote, fake_engine):
    response = token_client(fleet_admin).post("/api/server/add", ["a", "list"], format="json")

    refused(response, 400)
    assert Server.objects.count() == 0
    assert nothing_remote_happened(remote, fake_engine)


def test_a_refusal_never_echoes_the_secret(fleet_admin, remote, new_server_data):
    body = {**new_server_data, "max_containers": 0}
    response = token_client(fleet_admin).post("/api/server/add", body, format="json")

    assert response.status_code == 400
    assert "PRIVATE KEY" not in response.content.decode()


@pytest.mark.parametrize("taken", ["name", "public_ip"])
def test_a_taken_name_or_ip_is_a_409_before_any_remote_call(
        fleet_admin, remote, fake_engine, make_server, new_server_data, taken):
    make_server(name="sh-1" if taken == "name" else "other",
                public_ip="127.0.0.2" if taken == "public_ip" else "127.0.9.9")

    response = token_client(fleet_admin).post("/api/server/add", new_server_data, format="json")

    error = refused(response, 409)
    assert taken in error["fields"]
    assert Server.objects.count() == 1 and not Operation.objects.exists()
    assert nothing_remote_happened(remote, fake_engine)
