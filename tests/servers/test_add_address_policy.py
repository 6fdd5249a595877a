"""Where a server may be: adding one cannot point the panel at itself, its host's loopback
services, link-local cloud metadata or other addresses that are never a server; and a host that
does not answer as an SSH server gets one answer, whatever the reason (the add form is no port
scanner). SERVERS_ALLOW_LOCAL_ADDRESSES (on for the rest of the suite: its fleet is on loopback)
is off here unless a test turns it on."""

import socket
import threading

import pytest

from apps.operations.models import Operation
from apps.servers import drivers
from apps.servers.models import Server
from derpmgr.addresses import is_own_address, parse_ip
from tests.conftest import signed_in_client, token_client
from tests.operations.support import accepted, followed

REFUSED = ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "169.254.169.254", "fe80::1",
           "0.0.0.0", "::", "224.0.0.1", "ff02::1", "240.0.0.1"]


@pytest.fixture(autouse=True)
def strict(settings):
    settings.SERVERS_ALLOW_LOCAL_ADDRESSES = False
    return settings


@pytest.fixture
def api(fleet_admin):
    return token_client(fleet_admin)


def refused(response, field: str) -> str:
    assert response.status_code == 400, response.content[:500]
    error = response.json()["error"]
    assert error["code"] == "address_not_allowed"
    assert "a server cannot be added there" in error["fields"][field][0]
    assert not Server.objects.exists() and not Operation.objects.exists()
    return error["fields"][field][0]


@pytest.mark.parametrize("address", REFUSED)
def test_the_api_refuses_addresses_that_are_never_a_server(api, new_server_data, address):
    response = api.post("/api/server/add", {**new_server_data, "public_ip": address}, format="json")

    refused(response, "public_ip")


def test_an_ssh_host_name_resolving_to_loopback_is_refused(api, new_server_data):
    response = api.post("/api/server/add", {**new_server_data, "public_ip": "198.51.100.20",
                                             "ssh_host": "localhost"}, format="json")

    assert "localhost (" in refused(response, "ssh_host")


def test_the_panels_own_address_is_refused(api, new_server_data, strict):
    strict.PANEL_URL = "https://198.51.100.44"

    response = api.post("/api/server/add", {**new_server_data, "public_ip": "198.51.100.44"},
                        format="json")

    assert "this panel's own address" in refused(response, "public_ip")


def test_an_address_of_this_machine_counts_as_the_panels_own():
    assert is_own_address(parse_ip("127.0.0.1"))
    assert not is_own_address(parse_ip("192.0.2.55"))


def test_the_ops_page_refuses_with_the_same_message(fleet_admin, new_server_data):
    page = signed_in_client(fleet_admin)

    response = page.post("/ops/servers/add/", {**new_server_data, "public_ip": "169.254.169.254"})

    assert response.status_code == 400
    assert "a server cannot be added there" in str(response.context["form"].errors["public_ip"])
    assert not Server.objects.exists()


@pytest.mark.parametrize("address", ["10.1.2.3", "172.16.0.9", "192.168.7.7", "fd00::7",
                                     "198.51.100.20"])
def test_private_and_public_addresses_are_allowed(api, new_server_data, remote, address):
    response = api.post("/api/server/add", {**new_server_data, "public_ip": address}, format="json")

    accepted(response, kind="add_server")


def test_the_setting_lets_loopback_through_but_never_link_local(api, new_server_data, remote,
                                                               strict):
    strict.SERVERS_ALLOW_LOCAL_ADDRESSES = True

    accepted(api.post("/api/server/add", new_server_data, format="json"))  # 127.0.0.2
    response = api.post("/api/server/add", {**new_server_data, "name": "meta",
                                             "public_ip": "169.254.169.254"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "address_not_allowed"


# --- One answer for every way of not finding an SSH server ---------------------------------

class Listener:
    """A loopback port that is closed, open and silent, or open and not SSH."""

    def __init__(self, kind: str):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.kind = kind
        if kind == "closed":
            self.sock.close()
            return
        self.sock.listen(8)
        if kind == "not ssh":
            threading.Thread(target=self._answer_garbage, daemon=True).start()

    def _answer_garbage(self):
        try:
            while True:
                conn, _addr = self.sock.accept()
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                conn.close()
        except OSError:
            pass

    def close(self):
        self.sock.close()


@pytest.fixture
def listeners(strict):
    strict.SERVERS_ALLOW_LOCAL_ADDRESSES = True  # the test's ports are on loopback
    made = {kind: Listener(kind) for kind in ("closed", "silent", "not ssh")}
    yield made
    for listener in made.values():
        listener.close()


def test_closed_silent_and_non_ssh_ports_give_one_answer(listeners):
    answers = {}
    for kind, listener in listeners.items():
        with pytest.raises(drivers.RemoteError) as caught:
            drivers.fetch_host_key("127.0.0.1", listener.port, timeout=1)
        error = caught.value
        answers[kind] = (str(error).replace(str(listener.port), "PORT"), error.code,
                         error.transient, error.__cause__, error.__suppress_context__)

    assert len(set(answers.values())) == 1, answers
    assert answers["closed"][:2] == ("no SSH server answered at 127.0.0.1:PORT", "unreachable")


def test_the_add_operation_says_the_same_for_a_closed_and_an_open_port(
        api, new_server_data, listeners, run_operations, settings):
    settings.SSH_CONNECT_TIMEOUT = 1
    errors = {}
    for n, kind in enumerate(("closed", "not ssh")):
        operation = accepted(api.post("/api/server/add", {
            **new_server_data, "name": f"probe-{n}", "public_ip": f"127.0.0.{10 + n}",
            "ssh_host": "127.0.0.1", "ssh_port": listeners[kind].port}, format="json"))
        run_operations()
        done = followed(api, operation)
        errors[kind] = done["error"].replace(str(listeners[kind].port), "PORT")

    assert errors["closed"] == errors["not ssh"]
    assert "no SSH server answered" in errors["closed"]
