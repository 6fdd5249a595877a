"""The relay image is the real derper, run with the panel's flags: it serves TLS with the
certificate the derpMap pins, answers /generate_204 and STUN on one port, and on each client's
handshake posts derper's admission body to the verify URL — admitting only on 200 with
{"Allow": true}, and refusing when the panel cannot be reached (fail-open off)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address

import pytest

from apps.servers import certs
from tests.fleet import derp_client, infra
from tests.fleet.derp_client import ADMITTED, REFUSED, NodeKey


class AdmissionStub:
    """The panel's admission endpoint: records each request, answers what the test says."""

    def __init__(self):
        self.requests: list[tuple[str, dict | str]] = []
        self.answer = (200, json.dumps({"Allow": True}))
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                try:
                    stub.requests.append((self.path, json.loads(body)))
                except ValueError:
                    stub.requests.append((self.path, body))
                status, text = stub.answer
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, *args):
                pass

        # The relay reaches the host through the container network's gateway.
        self.server = ThreadingHTTPServer(("0.0.0.0", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, host: str, token: str = "tok") -> str:
        return f"http://{host}:{self.server.server_address[1]}/api/acl/admit/{token}"

    def close(self):
        if self.server.socket.fileno() != -1:  # not closed yet
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def admission():
    stub = AdmissionStub()
    yield stub
    stub.close()


@pytest.fixture
def relay(fleet_parts, loopback, admission, tmp_path):
    """The relay image run with the panel's flags (TLS with a self-signed IP certificate), its
    verify URL pointing at the stub. Yields (port, pinned certificate hash)."""
    cert_pem, key_pem = certs.make_self_signed("127.0.0.1")
    (tmp_path / "127.0.0.1.crt").write_bytes(cert_pem)
    (tmp_path / "127.0.0.1.key").write_bytes(key_pem)
    pinned = certs.sha256_raw(cert_pem)
    client = infra.local_docker()
    gateway = client.networks.get("podman").attrs["IPAM"]["Config"][0]["Gateway"]
    port, _end = loopback.port_block(1)
    container = client.containers.run(
        fleet_parts, ["-a", f":{port}", "-stun-port", str(port), "-http-port", "-1",
                      "-hostname", "127.0.0.1", "-certmode", "manual", "-certdir", "/certs",
                      "-verify-client-url", admission.url(gateway),
                      "-verify-client-url-fail-open=false"],
        detach=True, ports={f"{port}/tcp": port, f"{port}/udp": port},
        volumes={str(tmp_path): {"bind": "/certs", "mode": "ro"}},
        labels={"derpmgr.test": "relay-image"})
    infra.wait_for(lambda: derp_client.generate_204("127.0.0.1", port, cert_sha256=pinned) == 204,
                   timeout=10, what="the relay to listen")
    yield port, pinned
    container.remove(force=True)
    client.close()


def handshake(relay, key: NodeKey) -> str:
    port, pinned = relay
    return derp_client.handshake("127.0.0.1", port, key, cert_sha256=pinned)


def test_it_serves_generate_204_with_the_pinned_certificate_and_stun_on_the_same_port(relay):
    port, pinned = relay

    assert derp_client.generate_204("127.0.0.1", port, cert_sha256=pinned) == 204
    with pytest.raises(derp_client.CertificateMismatch):
        derp_client.tls_connect("127.0.0.1", port, cert_sha256="0" * 64)
    assert derp_client.stun_binding("127.0.0.1", port)


def test_a_client_handshake_posts_derpers_admission_body_and_is_admitted_on_allow(relay, admission):
    key = NodeKey.new()

    assert handshake(relay, key) == ADMITTED
    [(path, body)] = admission.requests
    assert path == "/api/acl/admit/tok"
    assert set(body) == {"NodePublic", "Source"}
    assert body["NodePublic"] == key.public
    ip_address(body["Source"])  # the client's address as the relay sees it


@pytest.mark.parametrize("status, text", [
    (200, '{"Allow": false}'),
    (200, "{}"),
    (200, "not json"),
    (403, '{"Allow": true}'),
    (500, '{"Allow": true}'),
])
def test_anything_but_200_with_allow_true_is_refused(relay, admission, status, text):
    admission.answer = (status, text)

    assert handshake(relay, NodeKey.new()) == REFUSED
    assert len(admission.requests) == 1


def test_allow_with_spaces_in_the_json_is_admitted(relay, admission):
    admission.answer = (200, '{ "Allow" :  true }')

    assert handshake(relay, NodeKey.new()) == ADMITTED


def test_a_panel_that_cannot_be_reached_refuses_every_client(relay, admission):
    admission.close()  # fail-open is off: no answer is no admission

    assert handshake(relay, NodeKey.new()) == REFUSED
