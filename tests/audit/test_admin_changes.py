"""Every Django admin save, deletion and action lands in the audit log: who changed which fields
from what to what, secrets only named. Tiers, coupons, plans and prices are the super admin's."""

from datetime import date, timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission

from apps.audit.models import AuditEvent
from apps.billing.models import Coupon, CouponKind, Plan
from apps.distribution.models import DistributorProfile, DistributorTier
from derpmgr.admin_mixins import AuditedChangesMixin, SafeChangeListMixin
from derpmgr.admin_site import DerpAdminSite
from tests.accounts.helpers import admin_form_data
from tests.conftest import signed_in_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def change_url(obj) -> str:
    return f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"


def edit(client, obj, **changes):
    url = change_url(obj)
    response = client.post(url, admin_form_data(client, url, **changes))
    assert response.status_code == 302, response.content[:800]
    return response


def admin_event(obj, action: str = "admin.changed") -> AuditEvent:
    [event] = AuditEvent.objects.filter(action=action, target_type=obj._meta.label_lower,
                                        target_id=str(obj.pk))
    return event


@pytest.fixture
def gold():
    return DistributorTier.objects.get(slug="gold")


@pytest.fixture
def coupon():
    return Coupon.objects.create(code="SPRING", kind=CouponKind.PERCENT, value=10)


def test_every_registered_model_admin_audits_and_answers_bad_lists_with_400():
    from django.contrib import admin

    assert isinstance(admin.site, DerpAdminSite)
    assert admin.site._registry
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, AuditedChangesMixin), model
        assert isinstance(model_admin, SafeChangeListMixin), model


def test_an_admin_edit_of_a_customer_names_each_field_before_and_after(admin_user, customer):
    edit(signed_in_client(admin_user), customer, email="alice.new@example.com",
         email_verified=False, is_active=False)

    event = admin_event(customer)
    assert event.actor == admin_user
    assert set(event.details["changed"]) >= {"email", "email_verified"}
    assert event.details["before"]["email"] == "alice@example.com"
    assert event.details["after"]["email"] == "alice.new@example.com"
    assert (event.details["before"]["email_verified"], event.details["after"]["email_verified"]) \
        == (True, False)
    # Deactivating goes through the rentals' verb (the relays follow), audited as such too.
    assert AuditEvent.objects.filter(action="accounts.deactivated",
                                     target_id=str(customer.pk)).exists()
    customer.refresh_from_db()
    assert (customer.email, customer.is_active) == ("alice.new@example.com", False)


def test_the_end_date_is_not_a_form_field_and_the_renew_action_is_audited(superadmin, customer):
    client = signed_in_client(superadmin)
    edit(client, customer, rental_expiry="2099-12-31")
    customer.refresh_from_db()
    assert customer.rental_expiry is None  # read-only: the posted date was ignored

    until = date.today() + timedelta(days=40)
    response = client.post("/admin/accounts/user/", {
        "action": "renew", ACTION_CHECKBOX_NAME: [customer.pk], "apply": "1",
        "until": until.isoformat()})

    assert response.status_code == 302
    renewed = AuditEvent.objects.get(action__in=["rentals.activated", "rentals.renewed"])
    assert renewed.details["to"].startswith(until.isoformat()[:4])
    action = AuditEvent.objects.get(action="admin.action")
    assert action.details == {"model": "accounts.user", "action": "renew", "count": 1,
                              "ids": [customer.pk]}


def test_a_super_admins_tier_edit_is_audited_before_and_after(superadmin, gold):
    edit(signed_in_client(superadmin), gold, discount_percent="25")

    event = admin_event(gold)
    assert event.details["changed"] == ["discount_percent"]
    assert (event.details["before"], event.details["after"]) == ({"discount_percent": 10},
                                                                  {"discount_percent": 25})


def test_a_coupon_edit_and_deletion_are_audited(superadmin, coupon):
    client = signed_in_client(superadmin)
    edit(client, coupon, percent_off="15", active=False)  # typed as a percentage

    event = admin_event(coupon)
    assert set(event.details["changed"]) == {"value", "active"}
    assert event.details["before"] == {"value": 10, "active": True}
    assert event.details["after"] == {"value": 15, "active": False}
    assert event.finance

    response = client.post(f"/admin/billing/coupon/{coupon.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert admin_event(coupon, "admin.deleted").details == {"model": "billing.coupon"}


def test_a_plan_price_change_is_audited_as_finance(superadmin):
    plan = Plan.objects.get(duration_days=30)
    edit(signed_in_client(superadmin), plan, price_fen="49")  # typed in yuan

    event = admin_event(plan)
    assert event.details["before"]["price_fen"] == plan.price_fen
    assert event.details["after"]["price_fen"] == 4900
    assert event.finance


def test_adding_in_the_admin_is_audited_with_the_values(superadmin):
    client = signed_in_client(superadmin)
    response = client.post("/admin/billing/coupon/add/", {
        "code": "WINTER", "kind": CouponKind.FIXED, "amount_off": "5", "active": "on",
        "valid_from_0": "2026-12-01", "valid_from_1": "00:00:00"})
    assert response.status_code == 302, response.content[:800]

    event = admin_event(Coupon.objects.get(code="WINTER"), "admin.added")
    assert event.details["after"]["value"] == 500
    # A code redeems something: like a key, it is named as set, never written out.
    assert "code" in event.details["changed"] and "code" not in event.details["after"]
    assert "WINTER" not in str(event.details)


def test_a_secret_field_is_named_never_shown(superadmin, customer):
    old_hash = customer.password
    client = signed_in_client(superadmin)
    response = client.post(f"/admin/accounts/user/{customer.pk}/password/", {
        "password1": "a brand new passphrase 42", "password2": "a brand new passphrase 42",
        "usable_password": "true"})
    assert response.status_code == 302, response.content[:800]

    events = AuditEvent.objects.filter(target_id=str(customer.pk))
    text = str([event.details for event in events])
    customer.refresh_from_db()
    assert old_hash not in text and customer.password not in text
    assert "pbkdf2" not in text and "argon2" not in text


def test_an_admin_edit_that_changes_nothing_writes_nothing(admin_user, customer):
    edit(signed_in_client(admin_user), customer)

    assert not AuditEvent.objects.filter(action="admin.changed").exists()


# --- Tiers, coupons, plans and prices are the super admin's ---------------------------------

def test_an_admin_cannot_edit_a_tier_a_coupon_or_a_plan(admin_user, gold, coupon):
    client = signed_in_client(admin_user)
    plan = Plan.objects.get(duration_days=30)

    answers = {name: client.post(change_url(obj), {"value": "99", "discount_percent": "99",
                                                   "price_fen": "1"}).status_code
               for name, obj in (("tier", gold), ("coupon", coupon), ("plan", plan))}

    assert answers == {"tier": 403, "coupon": 403, "plan": 403}
    gold.refresh_from_db(), coupon.refresh_from_db(), plan.refresh_from_db()
    assert (gold.discount_percent, coupon.value, plan.price_fen) == (10, 10, 3900)


def test_an_admin_cannot_move_their_distributor_to_another_tier(admin_user, distributor, gold):
    platinum = DistributorTier.objects.order_by("-rank").first()
    profile = DistributorProfile.objects.create(user=distributor, tier=gold, owner=admin_user)
    client = signed_in_client(admin_user)

    url = change_url(profile)
    client.post(url, {**admin_form_data(client, url), "tier": str(platinum.pk)})

    profile.refresh_from_db()
    assert profile.tier == gold


def test_an_admin_adds_a_distributor_on_the_first_tier_only(admin_user, gold):
    dealer = UserFactory(username="dealer", role="distributor")
    platinum = DistributorTier.objects.order_by("-rank").first()
    client = signed_in_client(admin_user)

    now = {"created_at_0": "2026-12-01", "created_at_1": "00:00:00"}
    refused = client.post("/admin/distribution/distributorprofile/add/",
                          {"user": dealer.pk, "tier": platinum.pk, **now})
    assert refused.status_code == 200 and "tier" in refused.context["adminform"].form.errors

    client.post("/admin/distribution/distributorprofile/add/", {"user": dealer.pk,
                                                                "tier": gold.pk, **now})
    profile = DistributorProfile.objects.get(user=dealer)
    assert admin_event(profile, "admin.added").details["after"]["tier"].startswith(str(gold.pk))


def test_a_super_admin_moves_a_distributor_to_another_tier_and_it_is_audited(
        superadmin, admin_user, distributor, gold):
    platinum = DistributorTier.objects.order_by("-rank").first()
    profile = DistributorProfile.objects.create(user=distributor, tier=gold, owner=admin_user)

    edit(signed_in_client(superadmin), profile, tier=str(platinum.pk))

    event = admin_event(profile)
    assert event.details["changed"] == ["tier"]
    assert event.details["before"]["tier"].startswith(f"{gold.pk} (")
    assert event.details["after"]["tier"].startswith(f"{platinum.pk} (")


def test_a_granted_admin_may_edit_tiers(admin_user, gold):
    admin_user.user_permissions.add(Permission.objects.get(codename="change_distributortier"))

    edit(signed_in_client(admin_user), gold, commission_percent="7")

    assert admin_event(gold).details["after"] == {"commission_percent": 7}


def test_the_admin_role_group_never_holds_tier_permissions():
    from django.contrib.auth.models import Group

    from apps.accounts import roles

    group = Group.objects.get(name="admin")
    group.permissions.add(Permission.objects.get(codename="change_distributortier"))
    roles.sync_role_permissions()

    assert not group.permissions.filter(codename__endswith="distributortier").exists()
