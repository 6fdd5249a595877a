"""The rental API's contract: strict JSON types for renew and suspend (a wrong type is a 400
naming the field, the rental unchanged), user ids in paths that are whole numbers (out of range:
404), and the rental answered in the envelope."""

import pytest

from apps.accounts.models import User
from tests import api_contract as contract
from tests.conftest import token_client
from tests.containers.conftest import give_rental

NOT_DAYS = {"a word": "thirty", "a fraction": 1.5, "a boolean": True, "a list": [30],
            "huge": contract.HUGE}


@pytest.fixture
def renting(customer):
    give_rental(customer)
    return customer


def state(user) -> tuple:
    user = User.objects.get(pk=user.pk)
    return user.rental_state, user.rental_expiry


@pytest.mark.parametrize(**contract.wrong({"until": contract.NOT_STRINGS, "days": NOT_DAYS}))
def test_renewing_with_a_wrong_type_is_a_400_naming_the_field(admin_user, renting, field, value):
    before, rental = contract.journal(), state(renting)
    contract.refused_naming(token_client(admin_user).post(f"/api/user/{renting.pk}/renew", {field: value},
                                                 format="json"), field)
    assert contract.journal() == before and state(renting) == rental


@pytest.mark.parametrize(**contract.wrong({"reason": contract.NOT_STRINGS}))
def test_suspending_with_a_wrong_type_is_a_400_naming_the_field(admin_user, renting, field,
                                                                value):
    before, rental = contract.journal(), state(renting)
    contract.refused_naming(token_client(admin_user).post(f"/api/user/{renting.pk}/suspend",
                                                 {field: value}, format="json"), field)
    assert contract.journal() == before and state(renting) == rental


@pytest.mark.parametrize("action", ["renew", "suspend"])
def test_an_array_body_is_a_400(admin_user, renting, action):
    before = contract.journal()
    contract.refused_as_not_an_object(token_client(admin_user).post(
        f"/api/user/{renting.pk}/{action}", [{"days": 30}], format="json"))
    assert contract.journal() == before


@pytest.mark.parametrize("method, suffix", [
    ("get", "/rental"), ("post", "/renew"), ("post", "/suspend"), ("post", "/resume"),
    ("delete", "")])
@pytest.mark.parametrize("pk", [str(contract.HUGE), "0"])
def test_an_out_of_range_user_id_is_a_404(superadmin, renting, method, suffix, pk):
    before = contract.journal()
    contract.not_found(getattr(token_client(superadmin), method)(f"/api/user/{pk}{suffix}", {"days": 30},
                                                        format="json"))
    assert contract.journal() == before


def test_the_rental_is_answered_in_the_envelope(admin_user, renting):
    body = token_client(admin_user).get(f"/api/user/{renting.pk}/rental").json()
    assert body["success"] is True and body["rental"]["user_id"] == renting.pk
