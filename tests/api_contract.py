"""What every API endpoint promises about its input and its published shape.

Wrong types are refused, not coerced: a 400 in the envelope that names the field, and nothing
changes. The tests/<app>/test_api_contract.py files feed their endpoints these values.
"""

import functools

NOT_A_STRING = [5, 2.5, True, ["text"], {"text": "x"}, None]
NOT_A_BOOLEAN = ["yes", "1", 1, -1, 0, None, ["true"], {"v": True}]
NOT_AN_OBJECT = ["[1, 2]", '"text"', "5", "null", "true"]


def not_an_integer(*, low: int, high: int) -> list:
    """Values an integer field bounded to [low, high] must refuse (add None if it is required)."""
    return ["abc", "2.5", 2.5, "1e3", True, [low], {"n": low}, low - 1, high + 1, 10**30]


def one_wrong_field(valid: dict, wrong: dict[str, list]) -> list:
    """(field, body) pairs: the valid body with one field replaced by one wrong value."""
    return [(field, {**valid, field: value}) for field, values in wrong.items() for value in values]


def refused_naming(response, field: str) -> dict:
    """The refusal of a wrong value: 400 in the envelope with `field` among error.fields."""
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert body["success"] is False
    assert body["error"]["message"]
    assert field in body["error"].get("fields", {}), body
    return body["error"]


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
