"""Accounts made for someone else (staff and distributors by a super admin, in the admin): the
person gets an invitation through the outbox with a link to choose their password; choosing it
verifies their address, and they can sign in. Nobody else's password is ever taken away."""

import datetime

import pytest
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX

from apps.accounts import services
from apps.accounts.models import Role, User
from apps.notifications import services as notifications
from tests import parts
from tests.accounts.helpers import STRONG_PASSWORD, events, link_in, mails_to, page_login, path_of
from tests.conftest import signed_in_client
from tests.notifications.support import SmtpServer, point_django_at

pytestmark = pytest.mark.django_db

ADD = "/admin/accounts/user/add/"
CHANGELIST = "/admin/accounts/user/"


def invite_in_admin(admin, **fields) -> User:
    data = {"email": "ops2@example.com", "username": "ops2", **fields}
    response = signed_in_client(admin).post(ADD, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return User.objects.get(email=data["email"])


def open_invitation(client, user) -> str:
    """Follow the mailed link; Django moves the token into the session and redirects."""
    [mail] = mails_to(user.email, template="invitation")
    response = client.get(path_of(link_in(mail)))
    assert response.status_code == 302
    return response["Location"]


def choose(client, form_url, password=STRONG_PASSWORD):
    return client.post(form_url, {"new_password1": password, "new_password2": password})


def test_a_super_admin_adds_staff_with_no_password_and_they_get_an_invitation(superadmin):
    page = signed_in_client(superadmin).get(ADD).content.decode()
    assert 'name="password1"' not in page and 'name="role"' in page

    staff = invite_in_admin(superadmin, role=Role.ADMIN)

    assert (staff.role, staff.is_staff, staff.email_verified) == (Role.ADMIN, True, False)
    assert not staff.has_usable_password()
    [mail] = mails_to(staff.email, template="invitation")
    assert link_in(mail).startswith("http://testserver/accounts/invitation/")
    [event] = events("accounts.invited", target_id=str(staff.pk))
    assert event.actor == superadmin and event.details == {"role": Role.ADMIN}


def test_choosing_the_password_verifies_the_address_and_lets_them_sign_in(superadmin, anon_client):
    staff = invite_in_admin(superadmin, role=Role.ADMIN)

    response = choose(anon_client, open_invitation(anon_client, staff))

    assert response["Location"] == "/accounts/login/"
    staff.refresh_from_db()
    assert staff.email_verified and staff.check_password(STRONG_PASSWORD)
    assert events("accounts.invitation_accepted", target_id=str(staff.pk))
    signed_in = page_login(anon_client, staff.email, STRONG_PASSWORD)
    assert signed_in.status_code == 302 and signed_in["Location"] == "/accounts/mfa/"  # staff: MFA next


def test_the_link_works_once(superadmin, anon_client):
    staff = invite_in_admin(superadmin)
    [mail] = mails_to(staff.email, template="invitation")
    choose(anon_client, open_invitation(anon_client, staff))

    again = anon_client.get(path_of(link_in(mail)), follow=True)

    assert "This link is no longer valid" in again.content.decode()


def test_the_link_expires_after_invitation_max_age(superadmin, anon_client, settings,
                                                   monkeypatch):
    settings.INVITATION_MAX_AGE = 3600
    staff = invite_in_admin(superadmin)
    [mail] = mails_to(staff.email, template="invitation")
    later = datetime.datetime.now() + datetime.timedelta(hours=2)  # the tokens' own local clock
    monkeypatch.setattr(services.InvitationTokens, "_now", lambda self: later)

    late = anon_client.get(path_of(link_in(mail)), follow=True)

    assert "This link is no longer valid" in late.content.decode()
    assert not User.objects.get(pk=staff.pk).email_verified


def test_a_weak_password_is_refused_with_the_reason_and_changes_nothing(superadmin, anon_client):
    staff = invite_in_admin(superadmin)

    response = choose(anon_client, open_invitation(anon_client, staff), password="12345")

    assert response.status_code == 400
    assert "too short" in response.content.decode()
    staff.refresh_from_db()
    assert not staff.email_verified and not staff.has_usable_password()


def test_a_password_reset_link_is_no_invitation(customer, anon_client):
    anon_client.post("/accounts/password/reset/", {"email": customer.email})
    [mail] = mails_to(customer.email, template="password-reset")
    as_invitation = path_of(link_in(mail)).replace("/password/reset/", "/invitation/")

    response = anon_client.get(as_invitation, follow=True)

    assert "This link is no longer valid" in response.content.decode()


def test_an_admin_adds_a_customer_without_choosing_a_role(admin_user):
    page = signed_in_client(admin_user).get(ADD).content.decode()
    assert 'name="role"' not in page

    user = invite_in_admin(admin_user, role=Role.SUPERADMIN)  # a forged field is ignored

    assert user.role == Role.USER and len(mails_to(user.email, template="invitation")) == 1


def test_sending_again_reaches_only_accounts_without_a_password(superadmin, customer):
    staff = invite_in_admin(superadmin)
    response = signed_in_client(superadmin).post(CHANGELIST, {
        "action": "send_invitation", "_selected_action": [staff.pk, customer.pk]})

    assert response.status_code == 302
    assert len(mails_to(staff.email, template="invitation")) == 2
    assert mails_to(customer.email, template="invitation") == []
    customer.refresh_from_db()
    assert customer.has_usable_password()
    assert not customer.password.startswith(UNUSABLE_PASSWORD_PREFIX)


def test_the_invitation_leaves_through_the_real_outbox_over_smtp(superadmin, settings):
    smtp = SmtpServer(parts.free_port())
    smtp.start()
    try:
        point_django_at(settings, smtp)
        staff = invite_in_admin(superadmin, role=Role.DISTRIBUTOR)

        notifications.dispatch_outbox()

        [delivered] = smtp.mailbox.to(staff.email)
        [mail] = mails_to(staff.email, template="invitation")
        assert link_in(mail) in delivered.text
        assert "分销商" in delivered.text  # the role in the invited person's language (zh-hans)
    finally:
        smtp.stop()
