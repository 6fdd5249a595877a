"""How many queries a page costs: pages whose count must not grow with the rows they list."""

from django.db import connection
from django.test.utils import CaptureQueriesContext


def queries_for(client, path: str, data: dict | None = None) -> tuple[object, int]:
    """GET `path` (200 expected) and return the response and the number of queries it ran."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, data or {})
    assert response.status_code == 200, (path, response.status_code)
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)
    return response, len(captured)
