"""Admins place distributors under themselves in the Django admin; only a super admin reassigns."""

from django.urls import reverse

from apps.distribution.models import DistributorProfile, DistributorTier
from tests.commerce.conftest import give_profile, tier
from tests.conftest import signed_in_client
from tests.factories import UserFactory


def test_an_admin_adds_a_distributor_who_is_then_theirs_on_the_first_tier(admin_user, distributor):
    first = DistributorTier.objects.order_by("rank", "pk").first()
    add = reverse("admin:distribution_distributorprofile_add")
    form = {"user": distributor.pk, "created_at_0": "2030-01-01", "created_at_1": "10:00:00"}

    # A tier is a price: a higher one is the super admin's to give.
    refused = signed_in_client(admin_user).post(add, {**form, "tier": tier("platinum").pk})
    assert refused.status_code == 200 and not DistributorProfile.objects.filter(user=distributor).exists()

    response = signed_in_client(admin_user).post(add, {**form, "tier": first.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    profile = DistributorProfile.objects.get(user=distributor)
    assert (profile.owner, profile.tier) == (admin_user, first)


def test_an_admin_sees_only_the_distributors_they_own(admin_user, other_admin, reseller):
    rival = UserFactory(username="rival", role="distributor")
    give_profile(rival, owner=other_admin)
    page = signed_in_client(admin_user).get(
        reverse("admin:distribution_distributorprofile_changelist")).content.decode()
    assert reseller.email in page and rival.email not in page
    theirs = DistributorProfile.objects.get(user=rival)
    response = signed_in_client(admin_user).get(
        reverse("admin:distribution_distributorprofile_change", args=[theirs.pk]))
    assert response.status_code in (302, 404)


def test_an_admin_cannot_hand_a_distributor_to_another_admin(admin_user, other_admin, reseller):
    profile = reseller.distributor_profile
    signed_in_client(admin_user).post(
        reverse("admin:distribution_distributorprofile_change", args=[profile.pk]),
        {"user": reseller.pk, "tier": profile.tier.pk, "owner": other_admin.pk,
         "created_at_0": "2030-01-01", "created_at_1": "10:00:00"})
    profile.refresh_from_db()
    assert profile.owner == admin_user


def test_a_super_admin_moves_a_distributor_to_another_admin(superadmin, other_admin, reseller):
    profile = reseller.distributor_profile
    response = signed_in_client(superadmin).post(
        reverse("admin:distribution_distributorprofile_change", args=[profile.pk]),
        {"user": reseller.pk, "tier": profile.tier.pk, "owner": other_admin.pk,
         "created_at_0": "2030-01-01", "created_at_1": "10:00:00"})
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.owner == other_admin
