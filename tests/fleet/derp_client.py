"""A relay client as tailscaled is one, to see what a real derper does: whether a node key gets in
(the DERP handshake), `/generate_204` over the pinned TLS, and a STUN binding on the same port.

TLS to the relay (the certificate pinned by its SHA-256, as a derpMap `CertName: "sha256-raw:…"`
makes clients do), `GET /derp` with `Upgrade: DERP`, the server's key frame, then the client's
info frame sealed with the node key (NaCl box): derper asks its admission URL for that key and
answers with its info frame (admitted) or closes the connection (refused).
See tailscale.com/derp/derp.go and derp/derpserver for the protocol.
"""

import json
import os
import socket
import ssl
import struct
from dataclasses import dataclass

from nacl.public import Box, PrivateKey, PublicKey

from apps.monitoring import probes
from apps.monitoring.probes import CertificateMismatch

MAGIC = b"DERP\xf0\x9f\x94\x91"
FRAME_SERVER_KEY, FRAME_CLIENT_INFO, FRAME_SERVER_INFO = 0x01, 0x02, 0x03
ADMITTED, REFUSED = "admitted", "refused"

__all__ = ["ADMITTED", "REFUSED", "CertificateMismatch", "NodeKey", "generate_204", "handshake",
           "stun_binding", "tls_connect"]


@dataclass(frozen=True)
class NodeKey:
    private: PrivateKey

    @classmethod
    def new(cls) -> "NodeKey":
        return cls(PrivateKey.generate())

    @property
    def public(self) -> str:
        """As the panel stores it and derper sends it: "nodekey:<64 hex>"."""
        return "nodekey:" + bytes(self.private.public_key).hex()


def tls_connect(host: str, port: int, *, cert_sha256: str, timeout: float = 10) -> ssl.SSLSocket:
    """A TLS connection whose certificate must hash to `cert_sha256` (no CA is consulted): the
    panel's own relay probe (apps.monitoring.probes)."""
    raw = socket.create_connection((host, port), timeout=timeout)
    try:
        return probes.tls_to_relay(raw, fingerprint=cert_sha256)
    except BaseException:
        raw.close()
        raise


def handshake(host: str, port: int, key: NodeKey, *, cert_sha256: str, timeout: float = 15) -> str:
    """ADMITTED or REFUSED: what the relay does with a client presenting `key`."""
    with tls_connect(host, port, cert_sha256=cert_sha256, timeout=timeout) as sock:
        reader = sock.makefile("rb")
        sock.sendall(f"GET /derp HTTP/1.1\r\nHost: {host}\r\nUpgrade: DERP\r\n"
                     "Connection: Upgrade\r\n\r\n".encode())
        status = reader.readline()
        if not status.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"the relay did not upgrade: {status!r}")
        while reader.readline() not in (b"\r\n", b""):
            pass  # the rest of the 101 answer's headers
        kind, payload = _read_frame(reader)
        if kind != FRAME_SERVER_KEY or not payload.startswith(MAGIC):
            raise ConnectionError(f"expected the server key frame, got type {kind}")
        server_key = PublicKey(payload[len(MAGIC):len(MAGIC) + 32])
        info = json.dumps({"version": 2}).encode()
        sealed = bytes(Box(key.private, server_key).encrypt(info, os.urandom(24)))
        _write_frame(sock, FRAME_CLIENT_INFO, bytes(key.private.public_key) + sealed)
        try:
            kind, _payload = _read_frame(reader)
        except (ConnectionError, OSError):
            return REFUSED
        return ADMITTED if kind == FRAME_SERVER_INFO else REFUSED


def _read_frame(reader) -> tuple[int, bytes]:
    header = reader.read(5)
    if len(header) < 5:
        raise ConnectionError("the relay closed the connection")
    kind, length = struct.unpack(">BI", header)
    payload = reader.read(length)
    if len(payload) < length:
        raise ConnectionError("the relay closed the connection mid-frame")
    return kind, payload


def _write_frame(sock, kind: int, payload: bytes) -> None:
    sock.sendall(struct.pack(">BI", kind, len(payload)) + payload)


def generate_204(host: str, port: int, *, cert_sha256: str) -> int | None:
    """The status of the relay's `GET /generate_204` over its pinned TLS (None: no answer)."""
    try:
        with tls_connect(host, port, cert_sha256=cert_sha256, timeout=3) as sock:
            return probes.generate_204_status(sock, host)
    except (OSError, CertificateMismatch):
        return None


def stun_binding(host: str, port: int, *, timeout: float = 3) -> bool:
    """True if a STUN binding request, as tailscaled sends it, is answered with a success for it
    (derper answers only requests that carry Tailscale's SOFTWARE attribute and a FINGERPRINT)."""
    return probes.stun_binding(host, port, timeout=timeout)
