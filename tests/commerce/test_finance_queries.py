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


def test_queries_do_not_grow_with_orders_months_or_commissions(superadmin, customer, reseller, fund):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from apps.billing import services
    from apps.distribution import services as distribution
    from tests.commerce.conftest import plan

    fund(customer, 10_000)
    services.purchase_plan(user=customer, plan=plan(3))
    few = queries_for_statistics()
    fund(reseller, 10_000)
    batch, _order = distribution.generate_codes(actor=reseller, plan=plan(30), quantity=1)
    distribution.redeem(user=customer, raw_code=batch[0].code)  # the customer's buys now accrue
    for months_ago in range(1, 15):
        with time_machine.travel(timezone.now() - timedelta(days=31 * months_ago), tick=False):
            fund(reseller, 10_000)
            distribution.generate_codes(actor=reseller, plan=plan(30), quantity=2)
            fund(customer, 1_000)
            services.purchase_plan(user=customer, plan=plan(5))
    services.settle_commission(actor=superadmin, distributor=reseller, method="credit")
    assert queries_for_statistics() == few == 5
