"""A password set by staff in the admin ends the user's API tokens and sessions, audited."""

import pytest

from apps.accounts.models import ApiToken
from apps.audit.models import AuditEvent
from tests.conftest import signed_in_client, token_client

pytestmark = pytest.mark.django_db

NEW = "a brand new passphrase 42"


def set_password(client, user, password: str = NEW, again: str | None = None):
    return client.post(f"/admin/accounts/user/{user.pk}/password/", {
        "password1": password, "password2": again or password, "usable_password": "true"})


def signed_in(client) -> bool:
    return client.get("/api/user/me").status_code == 200


def test_an_admins_password_change_revokes_tokens_and_sessions(admin_user, customer):
    api, browser = token_client(customer), signed_in_client(customer)
    assert signed_in(api) and signed_in(browser)

    response = set_password(signed_in_client(admin_user), customer)

    assert response.status_code == 302
    assert not signed_in(api) and not signed_in(browser)
    assert not ApiToken.objects.filter(user=customer).exists()
    event = AuditEvent.objects.get(action="accounts.password_set_by_staff")
    assert (event.actor, event.target_id) == (admin_user, str(customer.pk))
    assert event.details == {"api_tokens_revoked": 1}
    customer.refresh_from_db()
    assert customer.check_password(NEW)


def test_a_refused_form_changes_and_revokes_nothing(admin_user, customer):
    api = token_client(customer)

    response = set_password(signed_in_client(admin_user), customer, again="something else 42")

    assert response.status_code == 200
    assert signed_in(api)
    assert not AuditEvent.objects.filter(action="accounts.password_set_by_staff").exists()


def test_an_admin_cannot_set_a_super_admins_password(admin_user, superadmin):
    response = set_password(signed_in_client(admin_user), superadmin)

    assert response.status_code == 404
    superadmin.refresh_from_db()
    assert not superadmin.check_password(NEW)


def test_a_super_admin_setting_their_own_password_keeps_this_session(superadmin):
    client = signed_in_client(superadmin)

    assert set_password(client, superadmin).status_code == 302

    assert client.get("/admin/").status_code == 200
