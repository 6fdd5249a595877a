"""The finance figures cost the same number of queries however many distributors there are."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Role
from apps.billing.statistics import finance_statistics
from tests.factories import UserFactory


def queries_for_statistics() -> int:
    with CaptureQueriesContext(connection) as captured:
        finance_statistics()
    return len(captured)


def test_queries_do_not_grow_with_the_number_of_distributors(db):
    UserFactory(role=Role.DISTRIBUTOR)
    with_one = queries_for_statistics()
    for _i in range(5):
        UserFactory(role=Role.DISTRIBUTOR)
    assert queries_for_statistics() == with_one
