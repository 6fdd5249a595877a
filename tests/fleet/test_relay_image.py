"""The test relay stands in for derper where the panel can see it: the admission call on a client
connection (derper's exact body), admission only on 200 + {"Allow": true}, and a node key that
cannot smuggle anything into the JSON."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.fleet import infra

NODE_KEY = "nodekey:" + "ab12" * 16


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
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def admission():
    stub = AdmissionStub()
    yield stub
    stub.close()


@pytest.fixture
def relay(fleet_parts, loopback, admission):
    """The relay image run as the panel runs it, its verify URL pointing at the stub."""
    client = infra.local_docker()
    gateway = client.networks.get("podman").attrs["IPAM"]["Config"][0]["Gateway"]
    port, _end = loopback.port_block(1)
    container = client.containers.run(
        fleet_parts, ["-a", f":{port}", "-stun-port", str(port), "-http-port", "-1",
                      "-verify-client-url", admission.url(gateway),
                      "-verify-client-url-fail-open=false"],
        detach=True, ports={f"{port}/tcp": port, f"{port}/udp": port},
        labels={"derpmgr.test": "relay-image"})
    infra.wait_for(lambda: connect(port, "/generate_204").startswith("HTTP/1.1 204"),
                   timeout=10, what="the relay to listen")
    yield port
    container.remove(force=True)
    client.close()


def connect(port: int, path: str) -> str:
    """A client connection: the whole answer, or "" if nothing listens yet."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: relay\r\nUpgrade: DERP\r\n\r\n".encode())
            chunks = []
            while chunk := sock.recv(4096):
                chunks.append(chunk)
    except OSError:
        return ""
    return b"".join(chunks).decode(errors="replace")


def test_a_client_connection_posts_derpers_admission_body_and_is_admitted_on_allow(relay, admission):
    answer = connect(relay, f"/derp?nodekey={NODE_KEY}")

    assert answer.startswith("HTTP/1.1 101") and answer.endswith("ALLOW\n")
    [(path, body)] = admission.requests
    assert path == "/api/acl/admit/tok"
    assert set(body) == {"NodePublic", "Source"}
    assert body["NodePublic"] == NODE_KEY
    socket.inet_aton(body["Source"])  # the client's address as the relay sees it


@pytest.mark.parametrize("status, text", [
    (200, '{"Allow": false}'),
    (200, "{}"),
    (200, "not json"),
    (403, '{"Allow": true}'),
    (500, '{"Allow": true}'),
])
def test_anything_but_200_with_allow_true_is_denied(relay, admission, status, text):
    admission.answer = (status, text)

    answer = connect(relay, f"/derp?nodekey={NODE_KEY}")

    assert answer.startswith("HTTP/1.1 403") and answer.endswith("DENY\n")
    assert len(admission.requests) == 1


def test_allow_with_spaces_in_the_json_is_admitted(relay, admission):
    admission.answer = (200, '{ "Allow" :  true }')

    assert connect(relay, f"/derp?nodekey={NODE_KEY}").endswith("ALLOW\n")


def test_a_hostile_node_key_cannot_break_out_of_the_json(relay, admission):
    connect(relay, '/derp?nodekey=nodekey:ab",%22Source%22:"1.2.3.4"}$(id)')

    [(_path, body)] = admission.requests
    assert isinstance(body, dict) and set(body) == {"NodePublic", "Source"}
    # Only hex digits and colons survive: "ab" "22" "ce" "22" ":" "1234" "d".
    assert body["NodePublic"] == "nodekey:ab22ce22:1234d"
    assert body["Source"] != "1.2.3.4"
