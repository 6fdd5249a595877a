"""Helpers for tests of work that is recorded as an operation and carried out by a worker."""

from apps.operations.models import Operation, OperationState


def accepted(response, *, kind: str | None = None) -> dict:
    """Assert a 202 naming a queued operation (also in the Location header); return it."""
    assert response.status_code == 202, (response.status_code, response.content[:500])
    body = response.json()
    assert body["success"] is True
    operation = body["operation"]
    assert response["Location"] == operation["url"] == f"/api/operations/{operation['id']}"
    assert operation["state"] == OperationState.QUEUED
    if kind is not None:
        assert operation["kind"] == kind
    assert Operation.objects.filter(pk=operation["id"]).exists()
    return operation


def followed(client, operation: dict) -> dict:
    """The operation as GET /api/operations/<id> shows it now."""
    response = client.get(operation["url"] if isinstance(operation, dict) else
                          f"/api/operations/{operation.pk}")
    assert response.status_code == 200, response.content[:500]
    return response.json()["operation"]


def run_until_finished(run_operations, time_machine, operation_id: int, *,
                       limit: int = 20) -> Operation:
    """Carry the operation out as workers would, moving the clock past each retry's not_before
    (never sleeping), until it has finished; return it."""
    from datetime import timedelta

    for _ in range(limit):
        run_operations()
        operation = Operation.objects.get(pk=operation_id)
        if operation.finished:
            return operation
        assert operation.state == OperationState.QUEUED, operation.state
        time_machine.move_to(operation.not_before + timedelta(seconds=1))
    raise AssertionError(f"operation {operation_id} still {operation.state} after {limit} runs")
