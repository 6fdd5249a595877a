"""Every URL pattern of the project × eight personas: each gets the answer the table
(matrix_routes.py) gives, never a 500, never text of an object that is not theirs, and a refusal
changes nothing (no audit event, no operation). A route the table does not classify fails here
by name.

Each request runs in a savepoint rolled back afterwards (and with the client's cookies put back),
so every persona meets the same world: a super admin's delete cannot hide a row from the next
request, and nothing a request queues is ever carried out (operations are rows; no request
dials a server: the drivers refuse)."""

import copy
import re

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.db import transaction
from django.urls import URLResolver, get_resolver

from apps.acl import admission
from apps.acl.counters import admission_counters
from apps.audit.models import AuditEvent
from apps.operations.models import Operation
from apps.servers import drivers
from tests.project.matrix_routes import ALL_ROWS, ANY_302, GONE, LOGIN, SIGNED_OUT
from tests.project.matrix_world import PERSONAS, build

pytestmark = pytest.mark.django_db


def url_patterns(patterns=None, prefix: str = ""):
    """Every URL pattern of the project as one string, includes (the admin's too) walked."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def test_every_route_of_the_project_is_in_the_table():
    classified = {row.pattern for row in ALL_ROWS}
    missing = [f"/{p}" for p in url_patterns() if p not in classified]
    assert not missing, ("routes without a row in tests/project/matrix_routes.py (classify them): "
                         + ", ".join(missing))


def test_the_table_names_only_routes_that_exist():
    existing = set(url_patterns())
    assert not [row.name for row in ALL_ROWS if row.pattern not in existing]


def _refuse_to_dial(*args, **kwargs):
    raise AssertionError("a request dialled a server")


@pytest.fixture
def world(fake_engine, settings, monkeypatch):
    settings.METRICS_TOKEN = "the-scrapers-own-token"
    for name in ("fetch_host_key", "run", "put_file", "remove_path", "stream_to", "docker_client"):
        monkeypatch.setattr(drivers, name, _refuse_to_dial)
    # The admission call's bookkeeping threads would write outside the test's transaction.
    monkeypatch.setattr(admission._recorder, "note", lambda *args: None)
    monkeypatch.setattr(admission_counters, "note", lambda allowed: None)
    return build(fake_engine)


def _value(target: str, world) -> str:
    if target.startswith("admin:"):
        _prefix, label, name = target.split(":")
        if name:
            return str(world.objects[name].pk)
        model = next(m for m in admin.site._registry if m._meta.label_lower == label)
        first = model._default_manager.order_by("pk").first()
        assert first is not None, f"the world has no {label} row for its admin pages"
        return str(first.pk)
    return str(world.targets.get(target, target))


def url_of(row, world) -> str:
    """The row's pattern with its parameters filled from the world."""

    def fill(match):
        name = match.group("regex_name") or match.group("name")
        return _value(row.args[name], world)

    path = re.sub(r"\(\?P<(?P<regex_name>\w+)>[^)]*\)|<(?:\w+:)?(?P<name>\w+)>", fill, row.pattern)
    path = "/" + path.replace("^", "").replace("$", "")
    return f"{path}?{row.query}" if row.query else path


def _traces() -> tuple[int, int]:
    """What any change leaves: an audit event, an operation queued."""
    return AuditEvent.objects.count(), Operation.objects.count()


def ask(world, row, persona):
    """The request, in a savepoint rolled back afterwards, with the client's cookies put back:
    (response, body, whether it left an audit event or an operation)."""
    client = (world.api if row.api else world.pages)[persona]
    cookies = copy.deepcopy(client.cookies)
    with transaction.atomic():
        cache.clear()  # rate-limit counters: every request is the first
        before = _traces()
        kwargs = {"content_type": "application/json"} if row.method in ("patch", "delete") else {}
        response = getattr(client, row.method)(url_of(row, world), **kwargs)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        changed = _traces() != before
        transaction.set_rollback(True)
    client.cookies = cookies
    return response, body.decode(errors="replace"), changed


REFUSALS = (LOGIN, GONE, 401, 403, 404, 405)


def _matches(expected, response) -> bool:
    location = response.get("Location", "")
    if expected in (LOGIN, SIGNED_OUT):
        return response.status_code == 302 and location.startswith("/accounts/login/")
    if expected == GONE:
        return response.status_code == 302 and location == "/admin/"
    if expected == ANY_302:
        return response.status_code == 302 and not location.startswith("/accounts/login/")
    return response.status_code == expected


def problems_of(world, row, persona) -> list[str]:
    response, body, changed = ask(world, row, persona)
    expected = row.expect[persona]
    found = []
    if response.status_code >= 500 or not _matches(expected, response):
        found.append(f"{row.name} as {persona}: {response.status_code} "
                     f"{response.get('Location', '')} (expected {expected}) {body[:200]!r}")
    elif changed and expected in REFUSALS:
        found.append(f"{row.name} as {persona}: refused ({expected}), yet it changed something")
    leaked = [text for text in world.forbidden_to(persona) if text in body]
    if leaked:
        found.append(f"{row.name} as {persona}: the answer holds {leaked}")
    return found


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_gets_the_expected_answer_from_every_route(world, persona):
    problems = [problem for row in ALL_ROWS for problem in problems_of(world, row, persona)]
    assert not problems, "\n".join(problems)
