"""What every API endpoint promises about its input and its published shape: a value of the
wrong JSON type is a 400 naming the field, in the envelope, with nothing changed — never coerced
(5 for "5", 1 for true), never a 500. The tests/<app>/test_api_contract.py files walk their
endpoints with these values."""

import functools

from apps.audit.models import AuditEvent
from apps.operations.models import Operation

NOT_A_STRING = [5, 2.5, True, ["text"], {"text": "x"}, None]
NOT_A_BOOLEAN = ["yes", "1", 1, -1, 0, None, ["true"], {"v": True}]
NOT_AN_OBJECT = ["[1, 2]", '"text"', "5", "null", "true"]


def not_an_integer(*, low: int, high: int) -> list:
    """Values an integer field bounded to [low, high] must refuse (add None if it is required)."""
    return ["abc", "2.5", 2.5, "1e3", True, [low], {"n": low}, low - 1, high + 1, 10**30]


def one_wrong_field(valid: dict, wrong: dict[str, list]) -> list:
    """(field, body) pairs: the valid body with one field replaced by one wrong value."""
    return [(field, {**valid, field: value}) for field, values in wrong.items() for value in values]


def refuses_every_non_object(client, path: str, state) -> None:
    """Each JSON body that is not an object (array, string, number, null, boolean) is a 400 in
    the envelope, and `state()` is the same afterwards."""
    before = state()
    for raw in NOT_AN_OBJECT:
        response = client.post(path, raw, content_type="application/json")
        assert response.status_code == 400, (raw, response.status_code, response.content[:300])
        assert response.json()["success"] is False
    assert state() == before


@functools.cache
def published_schema() -> dict:
    """The OpenAPI document /api/schema serves (generated once per test run)."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def answer_properties(path: str, method: str, status: int) -> dict:
    """The properties the schema promises in `status`'s JSON answer of `method path`."""
    schema = published_schema()
    answer = schema["paths"][path][method]["responses"][str(status)]
    return _resolve(schema, answer["content"]["application/json"]["schema"])["properties"]


def request_properties(path: str, method: str = "post") -> dict:
    schema = published_schema()
    body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return _resolve(schema, body)["properties"]



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
