"""What every API endpoint promises about input: a value of the wrong JSON type is a 400 naming
the field, in the envelope, with nothing changed — never coerced (5 for "5", 1 for true), never
a 500. The per-app tests/<app>/test_api_contract.py walk their endpoints with these values."""

from apps.audit.models import AuditEvent
from apps.operations.models import Operation

HUGE = 10**30

NOT_STRINGS = {"a number": 5, "a fraction": 1.5, "a boolean": True, "a list": ["a"],
               "an object": {"a": 1}}
NOT_BOOLEANS = {"yes": "yes", "one": 1, "minus one": -1, "zero": 0, "a list": [True]}
NOT_IDS = {"a word": "abc", "a fraction": 1.5, "a boolean": True, "negative": -1, "zero": 0,
           "huge": HUGE, "a list": [1], "an object": {"id": 1}}
NOT_ID_LISTS = {"a number": 1, "a word": "1,2", "an object": {"a": 1}, "words": ["a"],
                "booleans": [True], "huge ids": [HUGE]}


def wrong(field_values: dict[str, dict]) -> dict:
    """parametrize arguments: every (field, bad value) pair of `field_values`, with ids such as
    "name=a list"."""
    pairs = [(field, value) for field, values in field_values.items() for value in values.values()]
    ids = [f"{field}={name}" for field, values in field_values.items() for name in values]
    return {"argnames": ("field", "value"), "argvalues": pairs, "ids": ids}


def refused_naming(response, field: str) -> dict:
    """The 400 in the envelope, `field` among error.fields; the error body."""
    assert response.status_code == 400, response.content[:400]
    body = response.json()
    assert body["success"] is False
    error = body["error"]
    assert error["code"] == "invalid" and error["message"]
    assert field in error.get("fields", {}), error
    assert all(isinstance(m, str) for m in error["fields"][field])
    return error


def refused_as_not_an_object(response) -> None:
    """A JSON array (or another non-object) where an object is due: 400 in the envelope."""
    assert response.status_code == 400, response.content[:400]
    body = response.json()
    assert body["success"] is False and body["error"]["message"]


def journal() -> tuple[int, int]:
    """What any accepted change leaves behind: an audit event or an operation."""
    return AuditEvent.objects.count(), Operation.objects.count()


def not_found(response) -> None:
    assert response.status_code == 404, response.content[:400]
    assert response.json()["success"] is False
