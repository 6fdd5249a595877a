"""Asking for server work: adding, re-pinning, deleting and checking servers. Pages, the API and
the admin call these; each checks what the database can tell, records an operation and its audit
event in one transaction, and leaves the SSH part to a worker."""

import hashlib

from django.db import transaction
from django.utils.translation import gettext as _

from apps.operations import services as operations
from apps.operations.models import Operation, OperationKind

from . import services
from .models import Server, ServerStatus


def add(*, actor, data: services.NewServer, ip: str | None = None) -> tuple[Server, Operation]:
    """Save the server (taking no relays yet) and ask a worker to connect, pin its host key,
    check its engine and upload its certificate. If that fails, the row goes again."""
    with transaction.atomic():
        server = services.register_server(data=data)
        operation = operations.request(
            OperationKind.ADD_SERVER, actor=actor, server=server, ip=ip, max_attempts=1,
            dedupe_key=f"server:{server.pk}",
            args={"expected_fingerprint": data.expected_host_key_fingerprint})
    return server, operation


def repin(*, actor, server: Server, expected_fingerprint: str = "",
          ip: str | None = None) -> Operation:
    return operations.request(OperationKind.REPIN, actor=actor, server=server, ip=ip,
                              max_attempts=1, dedupe_key=f"server:{server.pk}",
                              args={"expected_fingerprint": expected_fingerprint})


def delete(*, actor, server: Server, ip: str | None = None) -> Operation:
    """Refused while relays live there; otherwise the server takes no relays from now on and a
    worker reclaims it (containers, certificates, then the row)."""
    services.check_empty(server)
    with transaction.atomic():
        operation = operations.request(OperationKind.DELETE_SERVER, actor=actor, server=server,
                                       ip=ip, dedupe_key=f"server:{server.pk}")
        Server.objects.filter(pk=server.pk).exclude(status=ServerStatus.SETTING_UP).update(
            status=ServerStatus.MAINTENANCE)
    return operation


def probe(*, actor, servers: list[Server] | None = None, ip: str | None = None
          ) -> Operation | None:
    """Check SSH and the container engine of the servers now: those named, or every server the
    actor may see that is set up. None when there is nothing to check."""
    if servers is None:
        servers = list(Server.objects.visible_to(actor).exclude(status=ServerStatus.SETTING_UP))
    if not servers:
        return None
    ids = sorted(server.pk for server in servers)
    # One check at a time of the same set of servers (a digest: the set can be long).
    key = "probe:" + hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:40]
    return operations.request(OperationKind.PROBE, actor=actor,
                              server=servers[0] if len(servers) == 1 else None, ip=ip,
                              dedupe_key=key, args={"server_ids": ids}, max_attempts=1,
                              label=_("%(n)d server(s)") % {"n": len(ids)})
