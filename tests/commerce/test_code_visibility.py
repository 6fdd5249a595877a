"""Who sees which codes: an admin their own and their distributors'; a distributor their own;
a super admin all. Pages, API and admin share ActivationCode.objects.visible_to."""

import pytest

from apps.distribution.models import ActivationCode
from tests.commerce.conftest import give_profile
from tests.conftest import token_client
from tests.factories import UserFactory


@pytest.fixture
def fleet(superadmin, admin_user, other_admin, reseller, make_code):
    """Codes made by each: the super admin, two admins, a distributor of each admin."""
    rival_reseller = UserFactory(username="rival", role="distributor")
    give_profile(rival_reseller, owner=other_admin, slug="platinum")
    return {
        "superadmin": make_code(created_by=superadmin),
        "admin": make_code(created_by=admin_user),
        "other_admin": make_code(created_by=other_admin),
        "reseller": make_code(created_by=reseller),
        "rival_reseller": make_code(created_by=rival_reseller),
    }


def listed(user) -> set[str]:
    response = token_client(user).get("/api/distributor/serials")
    assert response.status_code == 200
    return {row["code"] for row in response.json()["results"]}


def shown(*codes) -> set[str]:
    return {code.display for code in codes}


def test_an_admin_sees_their_own_codes_and_their_distributors_not_another_admins(fleet, admin_user):
    assert listed(admin_user) == shown(fleet["admin"], fleet["reseller"])


def test_the_other_admin_sees_only_what_is_under_their_authority(fleet, other_admin):
    assert listed(other_admin) == shown(fleet["other_admin"], fleet["rival_reseller"])


def test_a_distributor_sees_only_their_own_codes(fleet, reseller):
    assert listed(reseller) == shown(fleet["reseller"])


def test_a_super_admin_sees_every_code(fleet, superadmin):
    assert listed(superadmin) == shown(*fleet.values())


def test_the_user_who_activated_a_code_is_shown_to_whoever_sees_the_code(fleet, customer, admin_user,
                                                                       other_admin):
    from apps.distribution import services

    services.redeem(user=customer, raw_code=fleet["reseller"].code)
    rows = token_client(admin_user).get("/api/distributor/serials?status=used").json()["results"]
    assert [(r["code"], r["user"]) for r in rows] == [
        (fleet["reseller"].display, {"id": customer.pk, "email": customer.email})]
    assert token_client(other_admin).get("/api/distributor/serials?status=used").json()["count"] == 0


def test_an_admin_cannot_revoke_another_admins_distributors_codes(fleet, admin_user):
    response = token_client(admin_user).post("/api/serial/revoke",
                                             {"codes": [fleet["rival_reseller"].display]}, format="json")
    assert response.status_code == 404
    assert ActivationCode.objects.get(pk=fleet["rival_reseller"].pk).status == "unused"


def test_a_distributor_cannot_revoke_by_id_a_code_they_did_not_make(fleet, reseller):
    response = token_client(reseller).post("/api/serial/revoke", {"ids": [fleet["admin"].pk]},
                                           format="json")
    assert response.status_code == 404
    assert ActivationCode.objects.get(pk=fleet["admin"].pk).status == "unused"
