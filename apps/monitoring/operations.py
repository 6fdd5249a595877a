"""How the workers carry out monitoring operations (registered with apps.operations)."""

from django.utils.translation import gettext as _

from apps.operations.models import Operation, OperationKind
from apps.operations.services import handles
from apps.servers.models import Server
from derpmgr.errors import NotFound

from . import speedtest


@handles(OperationKind.SPEED_TEST)
def speed_test(operation: Operation, context) -> dict:
    """Measure the server's download rate; a transient RemoteError is retried by the runner."""
    server = Server.objects.filter(pk=operation.server_id).first()
    if server is None:
        raise NotFound(_("The server no longer exists."))
    return speedtest.measure(server=server, actor=context.actor, progress=context.progress)
