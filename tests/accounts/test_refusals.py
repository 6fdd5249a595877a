"""What a refusal names on the 403 page: the permission in words, in the visitor's language, and
the roles that hold it; the refusal itself carries the action (policy.require_page)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from apps.accounts import policy, refusals
from apps.accounts.models import Role


def test_a_custom_permission_is_its_own_translated_name():
    with translation.override("en"):
        assert refusals.permission_in_words("billing.view_finance") == "Can see the finance statistics"


def test_a_default_permission_is_said_with_the_models_name():
    with translation.override("en"):
        assert refusals.permission_in_words("servers.add_server") == "Add servers"


@pytest.mark.parametrize("label", ["nosuchapp.view_thing", "servers.fly_server", "no-dot"])
def test_an_unknown_label_is_shown_as_it_is(label):
    assert refusals.permission_in_words(label) == label


def test_the_roles_holding_a_permission_are_the_super_admin_and_the_groups_that_carry_it():
    assert refusals.roles_holding("servers.view_server") == [Role.SUPERADMIN, Role.ADMIN]
    assert refusals.roles_holding("servers.add_server") == [Role.SUPERADMIN]  # granted by name
    assert refusals.roles_holding("billing.view_finance") == [Role.SUPERADMIN]


def test_a_role_gate_names_its_roles_and_no_permission():
    with translation.override("en"):
        assert refusals.needed(policy.SUPERADMIN) == refusals.Needed(permission="", roles=["Super admin"])
        assert refusals.needed(policy.STAFF).roles == ["Super admin", "Admin"]
    assert refusals.needed("") is None


def test_a_page_refusal_carries_the_refused_action(admin_user):
    with pytest.raises(PermissionDenied) as refused:
        policy.require_page(admin_user, "billing.view_finance")
    assert refused.value.needed == "billing.view_finance"
