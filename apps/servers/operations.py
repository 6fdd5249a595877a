"""How the workers carry out server operations (registered with apps.operations)."""

from django.utils.translation import gettext as _

from apps.operations.models import Operation, OperationKind
from apps.operations.services import handles
from derpmgr.errors import NotFound

from . import services
from .models import Server


def _server(operation: Operation) -> Server:
    server = Server.objects.filter(pk=operation.server_id).first()
    if server is None:
        raise NotFound(_("The server no longer exists."))
    return server


@handles(OperationKind.ADD_SERVER,
         give_up=lambda operation, error: services.abandon_set_up(server_id=operation.server_id,
                                                                  reason=error))
def add_server(operation: Operation, context) -> dict:
    server = services.set_up_server(actor=context.actor, server=_server(operation),
                                    expected_fingerprint=operation.args.get("expected_fingerprint", ""))
    from . import drivers

    return {"server": server.pk,
            "host_key_fingerprint": drivers.host_key_fingerprint(server.ssh_host_key)}


@handles(OperationKind.REPIN)
def repin(operation: Operation, context) -> dict:
    seen = services.repin_host_key(actor=context.actor, server=_server(operation),
                                   expected_fingerprint=operation.args.get("expected_fingerprint", ""))
    return {"host_key_fingerprint": seen}


@handles(OperationKind.DELETE_SERVER)
def delete_server(operation: Operation, context) -> dict:
    server = _server(operation)
    services.delete_server(actor=context.actor, server=server)
    return {"deleted": operation.server_id, "name": server.name}


# "Check now" (OperationKind.PROBE) is the full health probe: apps/monitoring/operations.py.
