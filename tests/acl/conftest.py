"""ACL fixtures: node keys, a renter who has paid, relays on servers, and the admission call.

The admission recorder's background thread is replaced by a list for every test here: tests
flush it themselves (admission._recorder.flush) instead of waiting on a thread."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.acl import admission
from apps.billing.models import Plan
from apps.distribution import codes
from apps.distribution.models import ActivationCode, CodeStatus
from tests.containers.conftest import give_rental, make_server, relay

# The real fleet (sshd + podman + the real derper image) for the end-to-end tests.
from tests.fleet.conftest import fleet, fleet_parts, fleet_settings, loopback  # noqa: F401


def node_key(n: int) -> str:
    return f"nodekey:{n:064x}"


@pytest.fixture(autouse=True)
def recorded(monkeypatch):
    """What the admission decisions queued for the recorder: [(device, instance, source, at)]."""
    notes = []
    monkeypatch.setattr(admission._recorder, "note",
                        lambda *args: notes.append((*args, timezone.now())))
    return notes


def paid_code(user, *, paid: bool = True, max_devices: int | None = None, creator=None):
    """A code `user` activated (paid or not), of a plan allowing `max_devices`."""
    plan = Plan.objects.filter(duration_days=30).order_by("pk").first()
    if max_devices is not None or plan is None:  # (a transactional test flushed the seeded plans)
        plan = Plan.objects.create(name=f"{max_devices} devices", duration_days=30, price_fen=100,
                                   max_devices=max_devices or 10)
    now = timezone.now()
    return ActivationCode.objects.create(
        code=codes.generate(), plan=plan, created_by=creator or user, user=user, paid=paid,
        status=CodeStatus.USED, used_at=now, expires_at=now + timedelta(days=30))


@pytest.fixture
def renter(customer):
    """The customer, with an active rental bought with a paid code."""
    give_rental(customer)
    paid_code(customer)
    return customer


@pytest.fixture
def servers(db):
    return [make_server(name=f"relay-{c}", cert_fingerprint=f"{n:064x}")
            for n, c in enumerate("abc", start=1)]


@pytest.fixture
def relays(renter, servers):
    """The renter's running relays, one on each server."""
    return [relay(renter, server) for server in servers]


def admit(client, token: str, body, **extra):
    """derper's call: a POST of raw bytes without a Content-Type."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.generic("POST", f"/api/acl/admit/{token}", data, content_type="", **extra)


def ask(client, instance, key: str, source: str = "203.0.113.7") -> bool:
    response = admit(client, instance.admission_token, {"NodePublic": key, "Source": source})
    assert response.status_code == 200, response.content
    answer = response.json()
    assert set(answer) == {"Allow"}
    return answer["Allow"]
