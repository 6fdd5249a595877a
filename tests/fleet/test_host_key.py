"""A server whose host key changed is refused (and audited) until an admin re-pins it."""

import pytest

from apps.audit.models import AuditEvent
from apps.containers.engine import get_engine
from apps.containers.services import reconcile_server
from apps.servers import drivers
from apps.servers.services import repin_host_key


def test_a_changed_host_key_is_refused_with_an_audit_event(fleet):
    server = fleet.add_one()
    drivers.run(server, ["true"])  # connections are open and cached
    fleet.sshd(server).restart(new_host_key=True)

    report = reconcile_server(server=server)

    assert "different host key" in report.error
    assert AuditEvent.objects.filter(action="servers.host_key_mismatch",
                                     target_id=str(server.pk)).exists()
    with pytest.raises(drivers.HostKeyMismatch):
        drivers.run(server, ["true"])
    with pytest.raises(drivers.HostKeyMismatch):
        get_engine().list_relays(server)


def test_after_an_explicit_re_pin_the_server_is_reached_again(fleet):
    server = fleet.add_one()
    sshd = fleet.sshd(server).restart(new_host_key=True)

    seen = repin_host_key(actor=fleet.actor, server=server)

    assert seen == drivers.host_key_fingerprint(sshd.host_key.public_line)
    assert drivers.run(server, ["printf", "%s", "ok"]) == "ok"
    assert get_engine().list_relays(server) == []
    event = AuditEvent.objects.get(action="servers.host_key_repinned", target_id=str(server.pk))
    assert event.details["to"] == seen
