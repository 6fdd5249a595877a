"""Commerce in the Django admin: all of it for super admins, customers' orders and codes for
admins, no finance for admins anywhere."""

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.billing import services
from apps.billing.models import (
    Commission,
    CommissionSettlement,
    LedgerEntry,
    LedgerKind,
    Order,
    OrderStatus,
)
from apps.distribution import services as distribution
from apps.distribution.models import ActivationCode
from tests.commerce.conftest import plan
from tests.conftest import signed_in_client

CHANGELISTS = ["billing_plan", "billing_coupon", "billing_wallet", "billing_order",
               "distribution_activationcode", "billing_commission", "billing_commissionsettlement",
               "distribution_distributorprofile", "distribution_distributortier",
               "distribution_referral"]
FINANCE_ONLY = ["billing_coupon", "billing_wallet", "billing_commission",
                "billing_commissionsettlement", "distribution_distributortier", "distribution_referral"]


@pytest.fixture
def sales(customer, reseller, fund, make_code, make_coupon):
    """One of everything on the changelists: a coupon, balances, orders, codes, a commission."""
    make_coupon("SPRING")
    fund(reseller, 10_000)
    distribution.generate_codes(actor=reseller, plan=plan(3), quantity=1)
    distribution.redeem(user=customer, raw_code=make_code(created_by=reseller).code)
    fund(customer, 10_000)
    return services.purchase_plan(user=customer, plan=plan(30), coupon_code="SPRING")


def denied(response) -> bool:
    return response.status_code in (302, 403, 404)


@pytest.mark.parametrize("model", CHANGELISTS)
def test_a_super_admin_opens_every_commerce_changelist(superadmin, sales, model):
    response = signed_in_client(superadmin).get(reverse(f"admin:{model}_changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("model", FINANCE_ONLY)
def test_an_admin_is_kept_out_of_finance_models(admin_user, sales, model):
    response = signed_in_client(admin_user).get(reverse(f"admin:{model}_changelist"))
    assert denied(response), response.status_code


def test_an_admin_looks_up_plans_but_cannot_change_them(admin_user, sales):
    client = signed_in_client(admin_user)
    thirty = plan(30)
    assert client.get(reverse("admin:billing_plan_changelist")).status_code == 200
    response = client.post(reverse("admin:billing_plan_change", args=[thirty.pk]),
                           {"name": "cheap", "duration_days": 30, "price_fen": 1,
                            "servers_per_rental": 3, "max_devices": 10, "active": "on"})
    assert denied(response)
    thirty.refresh_from_db()
    assert thirty.price_fen == 3_900
    assert denied(client.get(reverse("admin:billing_plan_add")))


def test_an_admin_sees_customers_orders_but_not_distributors_or_top_ups(admin_user, sales):
    page = signed_in_client(admin_user).get(reverse("admin:billing_order_changelist")).content.decode()
    assert sales.number in page
    for order in Order.objects.exclude(pk=sales.pk).exclude(buyer=sales.buyer, kind="top_up"):
        assert order.number not in page, order
    for top_up in Order.objects.filter(kind="top_up"):
        assert top_up.number not in page


def test_an_admin_has_no_finance_page_and_no_finance_api(admin_user):
    client = signed_in_client(admin_user)
    assert client.get(reverse("ops-finance")).status_code == 403
    response = client.get("/api/finance/statistics")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")


def test_the_generate_codes_view_makes_codes_for_a_super_admin(superadmin):
    url = reverse("admin:distribution_activationcode_generate")
    client = signed_in_client(superadmin)
    assert client.get(url).status_code == 200
    response = client.post(url, {"duration_days": 30, "quantity": 4, "paid": "on"})
    assert response.status_code == 302
    made = ActivationCode.objects.filter(created_by=superadmin)
    assert made.count() == 4
    assert all(code.paid and code.plan.duration_days == 30 for code in made)
    assert AuditEvent.objects.filter(action="distribution.codes_generated", actor=superadmin).exists()


@pytest.mark.parametrize("quantity", [0, 1001, "abc", ""])
def test_the_generate_codes_view_refuses_a_bad_batch(superadmin, quantity):
    url = reverse("admin:distribution_activationcode_generate")
    response = signed_in_client(superadmin).post(url, {"duration_days": 30, "quantity": quantity,
                                                        "paid": "on"})
    assert response.status_code == 400  # left empty too: a blank quantity is not one code
    assert ActivationCode.objects.count() == 0


def test_the_generate_codes_view_names_an_unknown_plan(admin_user):
    response = signed_in_client(admin_user).post(
        reverse("admin:distribution_activationcode_generate"), {"duration_days": 7, "quantity": 1})
    assert response.status_code == 400
    assert "No plan lasts 7 days" in response.content.decode()
    assert ActivationCode.objects.count() == 0


def test_an_admins_generated_codes_are_theirs(admin_user):
    signed_in_client(admin_user).post(reverse("admin:distribution_activationcode_generate"),
                                      {"duration_days": 5, "quantity": 2})
    assert ActivationCode.objects.filter(created_by=admin_user, paid=False).count() == 2


def test_the_top_up_view_credits_a_balance_and_audits_it(superadmin, customer):
    url = reverse("admin:billing_wallet_top_up")
    client = signed_in_client(superadmin)
    assert client.get(url).status_code == 200
    response = client.post(url, {"user": customer.pk, "amount": "123.45", "reference": "bank 5"})
    assert response.status_code == 302
    assert services.balance_of(customer) == 12_345  # ¥123.45 typed, kept in fen
    entry = LedgerEntry.objects.get(wallet__owner=customer)
    assert (entry.kind, entry.reference, entry.created_by) == (LedgerKind.TOP_UP, "bank 5", superadmin)
    event = AuditEvent.objects.get(action="billing.topped_up")
    assert (event.actor, event.target_id, event.details["amount_fen"]) == (superadmin, str(customer.pk),
                                                                          12_345)


@pytest.mark.parametrize(("amount", "message"), [
    ("-1", "The amount cannot be negative."),
    ("0", "The amount must be at least ¥0.01."),
    ("1.005", "At most two decimals: the smallest amount is ¥0.01 (one fen)."),
    ("abc", "Enter an amount in yuan, such as 12.50."),
    ("", "This field is required."),
    ("1000000.01", "The amount must be at most ¥1,000,000.00."),
])
def test_the_top_up_view_refuses_a_bad_amount(superadmin, customer, amount, message):
    response = signed_in_client(superadmin).post(reverse("admin:billing_wallet_top_up"),
                                                 {"user": customer.pk, "amount": amount,
                                                  "reference": "bank 5"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not LedgerEntry.objects.exists()


def test_an_admin_cannot_top_up(admin_user, customer):
    client = signed_in_client(admin_user)
    response = client.post(reverse("admin:billing_wallet_top_up"),
                           {"user": customer.pk, "amount": "1", "reference": "x"})
    assert denied(response)
    assert services.balance_of(customer) == 0


def action(client, model: str, name: str, objects, **extra):
    return client.post(reverse(f"admin:{model}_changelist"),
                       {"action": name, "_selected_action": [o.pk for o in objects], **extra})


def test_marking_a_batch_completed_in_the_admin_asks_for_the_payment_reference(superadmin, reseller):
    _codes, order = distribution.generate_codes(actor=reseller, plan=plan(30), quantity=2,
                                                pay_with_balance=False)
    client = signed_in_client(superadmin)
    asked = action(client, "billing_order", "mark_completed", [order])
    assert asked.status_code == 200 and 'name="reference"' in asked.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    done = action(client, "billing_order", "mark_completed", [order], apply="1", reference="bank 77")
    assert done.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.payment_reference) == (OrderStatus.COMPLETED, "bank 77")
    assert order.codes.filter(paid=True).count() == 2


def test_an_admin_has_no_refund_action(admin_user, sales):
    client = signed_in_client(admin_user)
    page = client.get(reverse("admin:billing_order_changelist")).content.decode()
    assert "mark_completed" in page and "mark_refunded" not in page
    action(client, "billing_order", "mark_refunded", [sales], apply="1")
    sales.refresh_from_db()
    assert sales.status == OrderStatus.COMPLETED


def test_commission_is_paid_out_in_the_admin_with_a_reference(superadmin, sales, reseller):
    client = signed_in_client(superadmin)
    commissions = Commission.objects.all()
    action(client, "billing_commission", "settle_payout", commissions, apply="1", reference="")
    assert not CommissionSettlement.objects.exists()  # refused: a payout needs its reference
    action(client, "billing_commission", "settle_payout", commissions, apply="1", reference="alipay 1")
    settlement = CommissionSettlement.objects.get()
    assert (settlement.method, settlement.reference, settlement.distributor) == ("payout", "alipay 1",
                                                                                reseller)


def test_commission_is_credited_in_the_admin(superadmin, sales, reseller):
    before = services.balance_of(reseller)
    action(signed_in_client(superadmin), "billing_commission", "settle_credit", Commission.objects.all())
    assert services.balance_of(reseller) == before + Commission.objects.get().amount_fen


@pytest.mark.parametrize("model", CHANGELISTS)
def test_a_super_admin_opens_the_page_of_each_commerce_object(superadmin, sales, reseller, model):
    from django.apps import apps

    services.settle_commission(actor=superadmin, distributor=reseller, method="credit")
    app_label, model_name = model.split("_", 1)
    obj = apps.get_model(app_label, model_name).objects.order_by("pk").first()
    response = signed_in_client(superadmin).get(reverse(f"admin:{model}_change", args=[obj.pk]))
    assert response.status_code == 200
    assert "(fen)" not in response.content.decode()  # money is shown and typed in yuan


def test_the_commerce_pages_show_money_in_yuan(superadmin, sales):
    client = signed_in_client(superadmin)
    order = client.get(reverse("admin:billing_order_change", args=[sales.pk])).content.decode()
    assert "¥39.00" in order and "¥35.10" in order  # list price, paid after the SPRING coupon
    wallet = services.balance_of(sales.buyer)
    wallets = client.get(reverse("admin:billing_wallet_changelist")).content.decode()
    assert services.format_fen(wallet) in wallets
    for model in CHANGELISTS:
        assert "(fen)" not in client.get(reverse(f"admin:{model}_changelist")).content.decode()


def test_a_super_admin_adds_a_coupon_for_one_plan(superadmin):
    response = signed_in_client(superadmin).post(reverse("admin:billing_coupon_add"), {
        "code": "summer", "kind": "fixed", "amount_off": "5", "valid_from_0": "2030-01-01",
        "valid_from_1": "00:00:00", "max_uses": 10, "plans": [plan(30).pk], "active": "on"})
    assert response.status_code == 302, response.content.decode()[:3000]
    from apps.billing.models import Coupon

    coupon = Coupon.objects.get()
    assert (coupon.code, coupon.value, list(coupon.plans.all())) == ("SUMMER", 500, [plan(30)])


@pytest.mark.parametrize("fields", [
    {"kind": "percent", "percent_off": 150},
    {"kind": "percent", "percent_off": ""},
    {"valid_until_0": "2029-01-01", "valid_until_1": "00:00:00"},
    {"amount_off": "0"},
    {"amount_off": ""},
    {"amount_off": "4.999"},
])
def test_an_impossible_coupon_is_refused_with_a_message(superadmin, fields):
    body = {"code": "bad", "kind": "fixed", "amount_off": "5", "valid_from_0": "2030-01-01",
            "valid_from_1": "00:00:00", "active": "on", **fields}
    response = signed_in_client(superadmin).post(reverse("admin:billing_coupon_add"), body)
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    from apps.billing.models import Coupon

    assert not Coupon.objects.exists()


def test_a_percent_coupon_is_typed_in_percent(superadmin):
    response = signed_in_client(superadmin).post(reverse("admin:billing_coupon_add"), {
        "code": "tenoff", "kind": "percent", "percent_off": "10", "valid_from_0": "2030-01-01",
        "valid_from_1": "00:00:00", "active": "on"})
    assert response.status_code == 302
    from apps.billing.models import Coupon

    assert (Coupon.objects.get().kind, Coupon.objects.get().value) == ("percent", 10)


def test_a_coupon_shows_its_discount_as_percent_or_yuan(superadmin, make_coupon):
    fixed = make_coupon("FIVE", kind="fixed", value=5_00)
    make_coupon("TEN", kind="percent", value=10)
    client = signed_in_client(superadmin)
    listing = client.get(reverse("admin:billing_coupon_changelist")).content.decode()
    assert "¥5.00" in listing and "10%" in listing
    edit = client.get(reverse("admin:billing_coupon_change", args=[fixed.pk])).content.decode()
    assert 'name="amount_off" value="5.00"' in edit


def test_a_plan_price_is_typed_in_yuan(superadmin):
    thirty = plan(30)
    client = signed_in_client(superadmin)
    edit = client.get(reverse("admin:billing_plan_change", args=[thirty.pk])).content.decode()
    assert 'name="price_fen" value="39.00"' in edit and "(fen)" not in edit
    response = client.post(reverse("admin:billing_plan_change", args=[thirty.pk]), {
        "name": thirty.name, "duration_days": 30, "price_fen": "45.5", "servers_per_rental": 3,
        "max_devices": 10, "active": "on"})
    assert response.status_code == 302
    thirty.refresh_from_db()
    assert thirty.price_fen == 45_50


def test_the_top_up_picks_the_user_by_search_never_from_a_list_of_everyone(superadmin, customer,
                                                                          stranger, admin_user):
    client = signed_in_client(superadmin)
    form = client.get(reverse("admin:billing_wallet_top_up")).content.decode()
    assert customer.email not in form and stranger.email not in form  # no list of every user
    assert "admin-autocomplete" in form and 'name="amount"' in form and "data-yuan" in form
    found = client.get(reverse("admin:autocomplete"), {
        "app_label": "billing", "model_name": "wallet", "field_name": "owner",
        "term": customer.email[:5]}).json()
    assert [r["text"] for r in found["results"]] == [str(customer)]
    staff = client.get(reverse("admin:autocomplete"), {
        "app_label": "billing", "model_name": "wallet", "field_name": "owner",
        "term": admin_user.email}).json()
    assert staff["results"] == []  # staff hold no balance
    chosen = client.get(reverse("admin:billing_wallet_top_up"), {"user": customer.pk})
    assert customer.email in chosen.content.decode()
    assert client.get(reverse("admin:billing_wallet_top_up"), {"user": "abc"}).status_code == 200
