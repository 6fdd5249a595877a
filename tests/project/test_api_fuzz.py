"""Schemathesis against the published schema: whatever a client sends that the schema allows (and
much that it does not), the API answers without a server error — on SQLite and on PostgreSQL.

Examples are bounded and derandomised, so a run is repeatable: a failure names the operation and
the request that broke it, and it breaks the same way next time.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from apps.accounts.models import ApiToken

pytestmark = pytest.mark.django_db

# Operations whose effect would end the run's own session or reach outside the loopback panel.
LEFT_OUT = {
    "POST /api/user/logout",  # revokes the token the run signs in with
    "POST /api/server/add",  # connects to the generated address
}
EXAMPLES_PER_OPERATION = 12

_DJANGO = get_wsgi_application()


def APP(environ, start_response):
    """The panel as WSGI, run the way Django's test client runs it: the request's end must not
    close the test's database connection (inside the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = _DJANGO(environ, start_response)
        body = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return [body]


SCHEMA = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())
              if op.label not in LEFT_OUT}


def test_the_schema_publishes_the_whole_api():
    assert len(OPERATIONS) >= 70


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_operation_answers_with_a_server_error(label, superadmin):
    operation = OPERATIONS[label]
    _token, raw = ApiToken.issue(superadmin)
    headers = {"Authorization": f"Bearer {raw}", "Accept-Language": "en"}
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None,
              database=None, suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(app=APP, headers=headers, checks=[not_a_server_error])

    run()
