"""/portal/: tier, discount, commission rate, balance, codes by status, users brought in, commission."""

import pytest
from django.utils import timezone

from apps.billing import services as billing
from apps.billing.models import Plan
from apps.distribution import services
from tests.conftest import signed_in_client
from tests.factories import UserFactory


def test_the_tier_and_its_percentages_and_the_balance(portal, funded):
    text = portal.get("/portal/").content.decode()
    assert '<dd class="tier">Gold</dd>' in text
    assert '<dd class="discount">10%</dd>' in text
    assert '<dd class="commission-rate">5%</dd>' in text
    assert '<dd class="balance">¥1,000.00</dd>' in text


def test_the_tier_name_follows_the_language(portal, funded):
    portal.cookies.load({"django_language": "zh-hans"})
    response = portal.get("/portal/", headers={"accept-language": "zh-hans"})
    assert '<dd class="tier">黄金</dd>' in response.content.decode()


def test_codes_are_counted_by_what_they_are_now(portal, dealer, rival, make_codes, activate, customer):
    make_codes(dealer, 3)                          # unused
    make_codes(dealer, 2, lapsed=True)             # unused in the table, past the deadline: expired
    activate(make_codes(dealer)[0], customer)      # used
    revoked = make_codes(dealer, 4)
    services.revoke(actor=dealer, code_ids=[c.pk for c in revoked])
    make_codes(rival, 7)                           # someone else's
    text = portal.get("/portal/").content.decode()
    assert '<td id="count-unused">3</td>' in text
    assert '<td id="count-used">1</td>' in text
    assert '<td id="count-expired">2</td>' in text
    assert '<td id="count-revoked">4</td>' in text
    assert '<th id="count-all">10</th>' in text


def test_users_brought_in_are_counted_and_the_latest_listed(portal, dealer, rival, make_codes, activate):
    brought = [UserFactory(username=f"buyer{n}") for n in range(12)]
    for user, code in zip(brought, make_codes(dealer, 12), strict=True):
        activate(code, user)
    activate(make_codes(rival)[0], UserFactory(username="rivals-customer"))
    text = portal.get("/portal/").content.decode()
    assert '<span id="referral-count">12</span> users' in text
    assert "buyer11@example.com" in text          # the latest ten are listed, newest first
    assert text.index("buyer11@example.com") < text.index("buyer2@example.com")
    assert "buyer0@example.com" not in text
    assert "buyer1@example.com" not in text
    assert "rivals-customer@example.com" not in text
    assert timezone.localtime().strftime("%Y-%m-%d") in text


def test_commission_accrued_and_settled(portal, dealer, rival, make_codes, activate, customer, superadmin):
    """Gold earns 5%: ¥39.00 → ¥1.95 settled to the balance, then ¥199.00 → ¥9.95 accrued."""
    activate(make_codes(dealer)[0], customer)
    billing.top_up(actor=superadmin, user=customer, amount_fen=50_000, reference="alipay 7")
    billing.purchase_plan(user=customer, plan=Plan.objects.get(duration_days=30))
    billing.settle_commission(actor=superadmin, distributor=dealer, method="credit")
    billing.purchase_plan(user=customer, plan=Plan.objects.get(duration_days=180))
    other = UserFactory(username="rivals-buyer")
    activate(make_codes(rival)[0], other)
    billing.top_up(actor=superadmin, user=other, amount_fen=50_000, reference="alipay 8")
    billing.purchase_plan(user=other, plan=Plan.objects.get(duration_days=360))
    text = portal.get("/portal/").content.decode()
    assert '<dd id="commission-accrued">¥9.95</dd>' in text
    assert '<dd id="commission-settled">¥1.95</dd>' in text
    assert '<dd class="balance">¥1.95</dd>' in text


def test_a_new_distributor_sees_zeros(portal):
    text = portal.get("/portal/").content.decode()
    assert '<dd class="balance">¥0.00</dd>' in text
    assert '<th id="count-all">0</th>' in text
    assert '<span id="referral-count">0</span> users' in text
    assert '<dd id="commission-accrued">¥0.00</dd>' in text


def test_without_a_tier_the_distributor_is_told_to_ask_their_admin(distributor):
    response = signed_in_client(distributor).get("/portal/")
    assert response.status_code == 200
    assert b"Your admin must assign you a tier" in response.content
    assert b'class="tier"' not in response.content


@pytest.mark.parametrize("link", ["/portal/codes/generate/", "/portal/codes/", "/portal/orders/"])
def test_the_dashboard_links_to_the_other_pages(portal, link):
    assert f'href="{link}"'.encode() in portal.get("/portal/").content
