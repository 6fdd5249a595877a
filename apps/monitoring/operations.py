"""How the workers carry out monitoring's operations (registered with apps.operations)."""

from django.utils.translation import gettext as _

from apps.operations.models import Operation, OperationKind
from apps.operations.services import handles
from apps.servers.models import Server
from derpmgr.errors import NotFound

from . import health, speedtest


@handles(OperationKind.PROBE)
def check_now(operation: Operation, context) -> dict:
    """"Check now" of some servers: the same full probe as the periodic round, recorded."""
    return {"servers": health.check_now(server_ids=operation.args.get("server_ids") or [])}


@handles(OperationKind.SPEED_TEST)
def speed_test(operation: Operation, context) -> dict:
    """Measure the server's download rate; a transient RemoteError is retried by the runner."""
    server = Server.objects.filter(pk=operation.server_id).first()
    if server is None:
        raise NotFound(_("The server no longer exists."))
    return speedtest.measure(server=server, actor=context.actor, progress=context.progress)
