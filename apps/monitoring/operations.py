"""How the workers carry out monitoring's operations (registered with apps.operations)."""

from apps.operations.models import Operation, OperationKind
from apps.operations.services import handles

from . import health


@handles(OperationKind.PROBE)
def check_now(operation: Operation, context) -> dict:
    """"Check now" of some servers: the same full probe as the periodic round, recorded."""
    return {"servers": health.check_now(server_ids=operation.args.get("server_ids") or [])}
