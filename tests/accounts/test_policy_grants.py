"""A super admin's grant in the admin counts on the pages, the API and the admin; so does its
withdrawal. Refusals: 403 for staff lacking the permission (the translated page, or the API's
"forbidden" envelope), 404 for everyone else."""

import pytest
from django.contrib.auth.models import Group, Permission

from apps.accounts.models import Role
from apps.billing.models import Order, OrderKind, OrderStatus, Plan
from tests.accounts.helpers import admin_form_data, events
from tests.conftest import signed_in_client, token_client

pytestmark = pytest.mark.django_db

# Reading the finance: the figures (page and API) and the commission records (admin).
FINANCE_READER = ["billing.view_finance", "billing.view_commission"]
FINANCE_PAGE, FINANCE_API, COMMISSION_ADMIN = ("/ops/finance/", "/api/finance/statistics",
                                               "/admin/billing/commission/")


def permission(label: str) -> Permission:
    app_label, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def change_url(user) -> str:
    return f"/admin/accounts/user/{user.pk}/change/"


def set_grants(superadmin, admin_user, labels: list[str]):
    """What a super admin does on the admin's user page: tick exactly `labels`."""
    client = signed_in_client(superadmin)
    data = admin_form_data(client, change_url(admin_user),
                           user_permissions=[str(permission(label).pk) for label in labels])
    response = client.post(change_url(admin_user), data)
    assert response.status_code == 302, response.content[:500]


def finance_answers(admin_user) -> dict:
    page = signed_in_client(admin_user)
    api = token_client(admin_user).get(FINANCE_API)
    return {"page": page.get(FINANCE_PAGE).status_code, "api": api.status_code,
            "api_code": None if api.status_code == 200 else api.json()["error"]["code"],
            "admin": page.get(COMMISSION_ADMIN).status_code}


REFUSED = {"page": 403, "api": 403, "api_code": "forbidden", "admin": 403}
ALLOWED = {"page": 200, "api": 200, "api_code": None, "admin": 200}


def test_an_admin_reads_no_finance_by_default(admin_user):
    assert finance_answers(admin_user) == REFUSED


def test_a_grant_in_the_user_form_opens_the_page_the_api_and_the_admin(superadmin, admin_user):
    set_grants(superadmin, admin_user, FINANCE_READER)

    assert finance_answers(admin_user) == ALLOWED
    [event] = events("accounts.permissions_changed")
    assert event.details == {"granted": sorted(FINANCE_READER), "revoked": []}
    ops = signed_in_client(admin_user).get("/ops/").content.decode()
    assert 'href="/ops/finance/"' in ops  # the menu follows the grant


def test_withdrawing_the_grant_closes_each_of_them_again(superadmin, admin_user):
    set_grants(superadmin, admin_user, FINANCE_READER)
    assert finance_answers(admin_user) == ALLOWED

    set_grants(superadmin, admin_user, [])

    assert finance_answers(admin_user) == REFUSED
    assert 'href="/ops/finance/"' not in signed_in_client(admin_user).get("/ops/").content.decode()


def test_a_grant_through_a_group_counts_too(superadmin, admin_user):
    readers = Group.objects.create(name="finance readers")
    readers.permissions.add(*(permission(label) for label in FINANCE_READER))
    client = signed_in_client(superadmin)
    admin_group = Group.objects.get(name=Role.ADMIN)
    url = change_url(admin_user)

    client.post(url, admin_form_data(client, url, groups=[str(admin_group.pk), str(readers.pk)]))
    assert finance_answers(admin_user) == ALLOWED

    client.post(url, admin_form_data(client, url, groups=[str(admin_group.pk)]))
    assert finance_answers(admin_user) == REFUSED


@pytest.mark.parametrize("persona", ["distributor", "customer"])
def test_outside_the_staff_finance_does_not_exist(request, persona):
    user = request.getfixturevalue(persona)

    assert signed_in_client(user).get(FINANCE_PAGE).status_code == 404
    assert token_client(user).get(FINANCE_API).status_code == 404


# --- Admin actions ask the policy too --------------------------------------------------------

@pytest.fixture
def completed_purchase(customer):
    plan = Plan.objects.get(duration_days=3)
    return Order.objects.create(buyer=customer, kind=OrderKind.PURCHASE, plan=plan,
                                status=OrderStatus.COMPLETED, list_price_fen=plan.price_fen,
                                amount_fen=plan.price_fen)


def order_actions(user) -> set[str]:
    response = signed_in_client(user).get("/admin/billing/order/")
    assert response.status_code == 200
    return {name for name, _label in response.context["action_form"].fields["action"].choices if name}


def test_the_refund_action_is_offered_only_to_whoever_holds_the_grant(superadmin, admin_user,
                                                                     completed_purchase):
    assert "mark_refunded" not in order_actions(admin_user)
    assert "mark_renewed" in order_actions(admin_user)

    set_grants(superadmin, admin_user, ["billing.refund_order"])

    assert "mark_refunded" in order_actions(admin_user)
    response = signed_in_client(admin_user).post("/admin/billing/order/", {
        "action": "mark_refunded", "_selected_action": [completed_purchase.pk], "apply": "1",
        "reference": "refund 1"})
    assert response.status_code == 302
    completed_purchase.refresh_from_db()
    assert completed_purchase.status == OrderStatus.REFUNDED


def test_posting_an_action_one_may_not_take_changes_nothing(admin_user, completed_purchase):
    signed_in_client(admin_user).post("/admin/billing/order/", {
        "action": "mark_refunded", "_selected_action": [completed_purchase.pk], "apply": "1"})

    completed_purchase.refresh_from_db()
    assert completed_purchase.status == OrderStatus.COMPLETED


# --- The system log, withdrawn from the admin role ------------------------------------------

def test_the_system_log_follows_the_admin_roles_permission(admin_user):
    client, api = signed_in_client(admin_user), token_client(admin_user)
    assert [client.get("/ops/audit/").status_code, api.get("/api/logs/system").status_code,
            client.get("/admin/audit/auditevent/").status_code] == [200, 200, 200]

    Group.objects.get(name=Role.ADMIN).permissions.remove(permission("audit.view_auditevent"))

    assert [client.get("/ops/audit/").status_code, api.get("/api/logs/system").status_code,
            client.get("/admin/audit/auditevent/").status_code] == [403, 403, 403]
    dashboard = client.get("/ops/")
    assert dashboard.status_code == 200  # the operators' home stays theirs
    assert "/ops/audit/" not in dashboard.content.decode()
