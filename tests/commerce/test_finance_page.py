"""/ops/finance/: the super admin's figures, a server-drawn chart, nobody else's business."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from apps.billing import services
from apps.distribution import services as distribution
from tests.commerce.conftest import plan
from tests.conftest import signed_in_client

NOW = datetime(2030, 3, 15, 4, 0, tzinfo=UTC)
URL = "/ops/finance/"


@pytest.fixture
def page(superadmin, customer, reseller, fund):
    with time_machine.travel(datetime(2030, 1, 20, 4, 0, tzinfo=UTC), tick=False):
        fund(customer, 10_000)
        services.purchase_plan(user=customer, plan=plan(30))
    with time_machine.travel(NOW, tick=False):
        fund(reseller, 100_000)
        distribution.generate_codes(actor=reseller, plan=plan(180), quantity=3)
        response = signed_in_client(superadmin).get(URL)
    assert response.status_code == 200
    return response.content.decode()


def test_the_route_is_named_ops_finance():
    assert reverse("ops-finance") == URL


def test_the_page_shows_each_figure_in_yuan(page):
    assert re.search(r'id="revenue-this-month">¥537\.30<', page)  # 3 × ¥199 − 10%
    assert re.search(r'id="revenue-all-time">¥576\.30<', page)
    assert re.search(r'id="prepaid-balances">¥523\.70<', page)  # ¥61.00 + ¥462.70
    assert re.search(r'id="commission-accrued">¥0\.00<', page)
    assert re.search(r'id="commission-settled">¥0\.00<', page)


def test_the_page_lists_plan_purchases_and_revenue_per_distributor(page, reseller):
    plans = page.split('id="plan-purchases"')[1].split("</table>")[0]
    assert "<td>30</td><td>1</td><td>0</td><td>0</td>" in plans
    assert "<td>180</td><td>0</td><td>0</td><td>3</td>" in plans
    distributors = page.split('id="distributor-revenue"')[1].split("</table>")[0]
    assert f"<td>{reseller.email}</td><td>3</td><td>¥537.30</td>" in distributors


def test_the_chart_is_inline_svg_with_twelve_months_and_no_script(page):
    chart = page.split('id="revenue-chart"')[1].split("</svg>")[0]
    bars = re.findall(r'data-month="([\d-]+)" data-revenue-fen="(\d+)"', chart)
    assert len(bars) == 12
    assert bars[-1] == ("2030-03", "53730") and bars[-3] == ("2030-01", "3900")
    heights = dict(zip([m for m, _r in bars], map(int, re.findall(r'height="(\d+)"', chart)), strict=True))
    assert heights["2030-03"] > heights["2030-01"] > heights["2030-02"] == 0
    assert "<script" not in chart
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', page)


@pytest.mark.parametrize("persona", ["distributor", "customer"])
def test_everyone_outside_the_staff_gets_404(request, persona):
    user = request.getfixturevalue(persona)
    assert signed_in_client(user).get(URL).status_code == 404


def test_an_admin_not_granted_finance_gets_the_translated_403_page(admin_user):
    client = signed_in_client(admin_user)
    client.cookies["django_language"] = "zh-hans"
    response = client.get(URL, headers={"accept-language": "zh-hans"})
    assert response.status_code == 403
    assert "layouts/ops.html" in [t.name for t in response.templates]
    page = response.content.decode()
    assert "无权操作" in page and "可请超级管理员授予" in page


def test_an_anonymous_visitor_is_sent_to_sign_in(anon_client):
    response = anon_client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_an_empty_business_renders_zeros(superadmin):
    response = signed_in_client(superadmin).get(URL)
    assert response.status_code == 200
    assert 'id="revenue-all-time">¥0.00<' in response.content.decode()


def test_a_super_admin_who_skipped_the_otp_step_is_sent_to_it(superadmin):
    response = signed_in_client(superadmin, verified=False).get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:mfa"))
