"""/portal/ sales this month: the codes the distributor's customers activated, the code batches
they paid for (and what they spent), what customers they brought in bought and the commission
it earned; and a chart of the codes activated per month, drawn on the server. Refunded,
cancelled and unpaid orders count for nothing; months are Shanghai's. The page runs as many
queries however much the distributor sold."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.billing import services as billing
from apps.billing.models import Commission, Order, OrderStatus, Plan
from apps.distribution import services
from apps.distribution.models import ActivationCode
from tests.factories import UserFactory

NOW = datetime(2030, 1, 10, 4, 0, tzinfo=UTC)  # 12:00 on 10 January in Asia/Shanghai
LAST_MONTH_LATE = datetime(2029, 12, 31, 15, 30, tzinfo=UTC)  # 23:30 on 31 December, Shanghai
THIS_MONTH_EARLY = datetime(2029, 12, 31, 16, 10, tzinfo=UTC)  # 00:10 on 1 January, Shanghai


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def shown(body: str, name: str) -> str | None:
    found = re.search(rf'id="{name}">([^<]*)<', body)
    return found.group(1) if found else None


def chart_bars(body: str) -> dict[str, int]:
    chart = body.split('id="sales-chart"')[1].split("</svg>")[0]
    return {month: int(n) for month, n in re.findall(r'data-month="([\d-]+)" data-codes="(\d+)"',
                                                       chart)}


def batch(owner, n: int, *, paid: bool = True, month: Plan | None = None):
    codes, order = services.generate_codes(
        actor=owner, plan=month or Plan.objects.get(duration_days=30), quantity=n,
        pay_with_balance=paid)
    return list(codes), order


def used_at(code: ActivationCode, when: datetime) -> None:
    ActivationCode.objects.filter(pk=code.pk).update(used_at=when)


@pytest.fixture
def sales(funded, rival, superadmin, activate):
    """A known month for the dealer (Gold: 10% off batches, 5% commission; ¥39.00 a code)."""
    dealer = funded
    codes, _paid = batch(dealer, 4)                       # bought: 4 codes, ¥140.40
    batch(dealer, 2, paid=False)                          # unpaid: not bought
    _refunded_codes, refunded = batch(dealer, 3)
    billing.mark_order(actor=superadmin, order=refunded, status=OrderStatus.REFUNDED)
    _old_codes, old = batch(dealer, 5)                    # paid last month
    Order.objects.filter(pk=old.pk).update(completed_at=LAST_MONTH_LATE)

    buyers = [UserFactory(username=f"buyer{n}") for n in range(4)]
    for code, user in zip(codes, buyers, strict=True):
        activate(code, user)
    used_at(codes[2], THIS_MONTH_EARLY)                   # still January in Shanghai
    used_at(codes[3], LAST_MONTH_LATE)                    # December in Shanghai

    rival_codes, _ = batch(rival, 1, paid=False)
    activate(rival_codes[0], UserFactory(username="rivals-customer"))

    brought = buyers[0]                                   # referred: their purchases earn 5%
    billing.top_up(actor=superadmin, user=brought, amount_fen=500_00, reference="alipay 1")
    billing.purchase_plan(user=brought, plan=Plan.objects.get(duration_days=30))   # ¥39 → ¥1.95
    refunded_sale = billing.purchase_plan(user=brought, plan=Plan.objects.get(duration_days=180))
    billing.mark_order(actor=superadmin, order=refunded_sale, status=OrderStatus.REFUNDED)
    return dealer


def test_sales_this_month(portal, sales):
    body = portal.get("/portal/").content.decode()

    assert shown(body, "month-activated") == "3"          # not December's, not the rival's
    assert shown(body, "month-bought") == "4"             # not unpaid, refunded or December's
    assert shown(body, "month-spent") == "¥140.40"
    assert shown(body, "month-referred-sales") == "¥39.00"  # the refunded ¥199 counts nothing
    assert "(1 order)" in body
    assert shown(body, "month-commission") == "¥1.95"


def test_commission_from_last_month_is_not_this_months(portal, sales):
    Commission.objects.update(created_at=LAST_MONTH_LATE)
    body = portal.get("/portal/").content.decode()

    assert shown(body, "month-commission") == "¥0.00"
    assert shown(body, "month-referred-sales") == "¥0.00"
    assert shown(body, "commission-accrued") == "¥1.95"   # still owed to them


def test_the_chart_shows_twelve_months_of_activations(portal, sales):
    bars = chart_bars(portal.get("/portal/").content.decode())

    assert list(bars) == ["2029-02", "2029-03", "2029-04", "2029-05", "2029-06", "2029-07",
                          "2029-08", "2029-09", "2029-10", "2029-11", "2029-12", "2030-01"]
    assert bars["2030-01"] == 3 and bars["2029-12"] == 1
    assert sum(bars.values()) == 4


def test_the_chart_is_csp_clean(portal, sales):
    body = portal.get("/portal/").content.decode()
    chart = body.split('id="sales-chart"')[1].split("</svg>")[0]
    assert "style=" not in chart and "<script" not in chart and " on" not in chart.lower()


def test_a_new_distributor_has_sold_nothing(portal):
    body = portal.get("/portal/").content.decode()

    assert shown(body, "month-activated") == "0"
    assert shown(body, "month-bought") == "0"
    assert shown(body, "month-spent") == "¥0.00"
    assert shown(body, "month-commission") == "¥0.00"
    assert set(chart_bars(body).values()) == {0}


def test_the_query_count_does_not_grow_with_the_sales(portal, funded, activate, superadmin):
    def count() -> int:
        portal.get("/portal/")
        with CaptureQueriesContext(connection) as captured:
            assert portal.get("/portal/").status_code == 200
        return len(captured)

    def sell(n: int):
        codes, _order = batch(funded, n)
        for i, code in enumerate(codes):
            user = UserFactory()
            activate(code, user)
            used_at(code, NOW - timedelta(days=31 * (i % 12)))

    sell(1)
    small = count()
    sell(15)
    assert count() == small
