"""Twenty devices added at once by one customer whose plan allows five: exactly five exist."""

import pytest

from apps.acl import services
from apps.acl.models import Device
from tests.acl.conftest import node_key, paid_code
from tests.commerce.races import run_together


@pytest.mark.postgres
def test_concurrent_adds_stop_at_the_plans_limit(transactional_db, customer):
    paid_code(customer, max_devices=5)

    outcomes, unexpected = run_together(20, lambda n: services.add_device(
        user=customer, name=f"device {n}", node_key=node_key(n + 1)))

    assert unexpected == []
    assert sorted(outcomes) == ["ok"] * 5 + ["too_many_devices"] * 15
    assert Device.objects.filter(user=customer).count() == 5


@pytest.mark.postgres
def test_one_key_added_at_once_by_two_accounts_lands_once(transactional_db, customer, stranger):
    users = [customer, stranger] * 5

    outcomes, unexpected = run_together(10, lambda n: services.add_device(
        user=users[n], name=f"device {n}", node_key=node_key(7)))

    assert unexpected == []
    assert sorted(outcomes) == ["duplicate_node_key"] * 9 + ["ok"]
    assert Device.objects.filter(node_key=node_key(7)).count() == 1
