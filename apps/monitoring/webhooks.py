"""The webhook driver: one signed JSON POST to a channel's URL.

The receiver checks `X-Derpmgr-Signature: sha256=<hex>`, the HMAC-SHA256 of
`<X-Derpmgr-Timestamp>.<body>` under the channel's secret, and may drop repeats by
`X-Derpmgr-Delivery`. The host is resolved and checked (targets.py) just before each send and
the connection goes to that address (TLS still verifies the name), so a name re-pointed at an
internal address after it was saved is not followed. Redirects are not followed and the answer's
body is not read: only its status counts.
"""

import contextlib
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import threading
import time

from django.conf import settings

from derpmgr.errors import ServiceError

from . import targets

USER_AGENT = "derpmgr"
# The whole exchange may take this many ALERT_WEBHOOK_TIMEOUTs (each read has one of its own).
TOTAL_TIMEOUTS = 3


class WebhookError(Exception):
    """The POST did not get a 2xx answer; `status` is the answer's, if there was one."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message, self.status = message, status


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode()


def _pin(connection: http.client.HTTPConnection, address: str):
    """Make `connection` (which names the URL's host: Host header, TLS name) connect to
    `address` instead of resolving the host again."""
    def connect_to_address(_host_port, timeout, source_address=None):
        return socket.create_connection((address, connection.port), timeout, source_address)

    connection._create_connection = connect_to_address  # http.client's own hook for this
    return connection


def _connection(parts, address: str) -> http.client.HTTPConnection:
    timeout = settings.ALERT_WEBHOOK_TIMEOUT
    if parts.scheme.lower() == "https":
        return _pin(http.client.HTTPSConnection(parts.hostname, parts.port or 443,
                                                timeout=timeout,
                                                context=ssl.create_default_context()), address)
    return _pin(http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout),
                address)


class _Deadline:
    """Cuts the connection when the whole exchange outlasts `seconds`: a receiver trickling its
    answer a byte at a time never trips the per-read timeout, and would otherwise hold the
    worker past its claim on the delivery."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float):
        self.connection, self.seconds, self.cut = connection, seconds, False
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def _cut(self):
        sock = self.connection.sock
        if sock is not None:
            self.cut = True
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()


def post(*, url: str, secret: str, event: str, delivery_id: str, payload: dict) -> int:
    """POST `payload` signed with `secret`; the 2xx status, else WebhookError."""
    try:
        parts, address = targets.webhook_destination(url)
    except ServiceError as refused:
        raise WebhookError(str(refused.message)) from None
    body = encode(payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Derpmgr-Event": event,
        "X-Derpmgr-Delivery": delivery_id,
        "X-Derpmgr-Timestamp": timestamp,
        "X-Derpmgr-Signature": signature(secret, timestamp, body),
    }
    connection = _connection(parts, str(address))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    limit = _Deadline(connection, TOTAL_TIMEOUTS * settings.ALERT_WEBHOOK_TIMEOUT)
    try:
        with limit:
            connection.request("POST", path, body=body, headers=headers)
            status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as error:
        if limit.cut:
            raise WebhookError(f"no answer within {limit.seconds:g} s") from None
        raise WebhookError(_describe(error)) from None
    finally:
        connection.close()
    if not 200 <= status < 300:
        raise WebhookError(f"HTTP {status}", status=status)
    return status


def _describe(error: Exception) -> str:
    if isinstance(error, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(error, ssl.SSLError):
        return f"TLS: {error.reason or error}"
    return f"{type(error).__name__}: {error}"[:500]
