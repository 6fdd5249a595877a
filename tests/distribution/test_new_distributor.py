""""New distributor" is one admin form: the account (e-mail, username), its tier and owning
admin. The service makes the account without a password, its profile, the audit events and the
invitation through the outbox; the invited distributor chooses a password and can sign in. An
admin owns who they create and starts them on the lowest tier; a super admin chooses both."""

import pytest

from apps.accounts.models import Role, User
from apps.distribution.models import DistributorProfile, DistributorTier
from tests.accounts.helpers import STRONG_PASSWORD, events, link_in, mails_to, page_login, path_of
from tests.conftest import signed_in_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW = "/admin/distribution/distributorprofile/new/"


def fill(tier, **fields) -> dict:
    return {"email": "Shop@Example.com", "username": "shop", "tier": tier.pk, **fields}


@pytest.fixture
def white_gold(db):
    return DistributorTier.objects.get(slug="white-gold")


@pytest.fixture
def gold(db):
    return DistributorTier.objects.get(slug="gold")


def test_a_super_admin_makes_a_distributor_in_one_form(superadmin, admin_user, white_gold,
                                                        anon_client):
    response = signed_in_client(superadmin).post(NEW, fill(white_gold, owner=admin_user.pk))

    assert response.status_code == 302
    profile = DistributorProfile.objects.select_related("user").get()
    user = profile.user
    assert (user.email, user.username, user.role) == ("Shop@example.com", "shop", Role.DISTRIBUTOR)
    assert (profile.tier, profile.owner) == (white_gold, admin_user)
    assert not user.has_usable_password() and not user.email_verified
    [created] = events("distribution.distributor_created", target_id=str(user.pk))
    assert created.actor == superadmin
    assert created.details == {"tier": "white-gold", "owner": admin_user.email}
    assert events("accounts.invited", target_id=str(user.pk))

    [mail] = mails_to(user.email, template="invitation")
    form_url = anon_client.get(path_of(link_in(mail)))["Location"]
    anon_client.post(form_url, {"new_password1": STRONG_PASSWORD,
                                "new_password2": STRONG_PASSWORD})
    signed_in = page_login(anon_client, user.email, STRONG_PASSWORD)
    assert signed_in.status_code == 302 and signed_in["Location"] == "/accounts/mfa/"


def test_an_admin_owns_who_they_make_and_starts_them_on_the_lowest_tier(admin_user, gold,
                                                                       white_gold, superadmin):
    page = signed_in_client(admin_user).get(NEW).content.decode()
    assert 'name="owner"' not in page
    assert f'value="{gold.pk}"' in page and f'value="{white_gold.pk}"' not in page

    response = signed_in_client(admin_user).post(NEW, fill(gold, owner=superadmin.pk))

    assert response.status_code == 302
    assert DistributorProfile.objects.get().owner == admin_user  # a forged owner is ignored


def test_an_admin_cannot_hand_out_a_higher_tier(admin_user, white_gold):
    response = signed_in_client(admin_user).post(NEW, fill(white_gold))

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not User.objects.filter(username="shop").exists()


def test_a_taken_address_is_refused_on_the_form_and_nothing_is_made(superadmin, gold):
    UserFactory(username="someone", email="shop@example.com")

    response = signed_in_client(superadmin).post(NEW, fill(gold))

    assert response.status_code == 409
    page = response.content.decode()
    assert "An account with this e-mail address exists." in page and 'value="shop"' in page
    assert not DistributorProfile.objects.exists() and not mails_to("shop@example.com",
                                                                     template="invitation")


def test_an_empty_form_is_a_400_with_the_fields_named(superadmin):
    response = signed_in_client(superadmin).post(NEW, {})

    assert response.status_code == 400
    assert response.content.decode().count("This field is required.") == 3
    assert not DistributorProfile.objects.exists()


def test_the_distributor_list_leads_to_the_one_form(admin_user):
    page = signed_in_client(admin_user).get("/admin/distribution/distributorprofile/")

    assert 'href="/admin/distribution/distributorprofile/new/"' in page.content.decode()
