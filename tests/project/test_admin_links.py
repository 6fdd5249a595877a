"""The admin links a related object only for a viewer who may open it: an admin reading an
event the super admin caused sees the super admin's address, not a link to a page that would
answer "does not exist"."""

import re

from apps.audit import services as audit
from tests.conftest import signed_in_client


def event_page(viewer, event) -> str:
    response = signed_in_client(viewer).get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def links_to_user(page: str, user) -> bool:
    return re.search(rf'href="/admin/accounts/user/{user.pk}/change/"', page) is not None


def test_an_admin_sees_a_super_admin_named_not_linked(admin_user, superadmin, customer):
    event = audit.record(actor=superadmin, action="accounts.role_changed", target=customer)

    page = event_page(admin_user, event)

    assert superadmin.email in page
    assert not links_to_user(page, superadmin)
    assert signed_in_client(admin_user).get(
        f"/admin/accounts/user/{superadmin.pk}/change/").status_code != 200  # why: not theirs


def test_the_super_admin_gets_the_link_and_an_admin_gets_links_it_may_open(
        admin_user, superadmin, customer):
    by_super = audit.record(actor=superadmin, action="accounts.role_changed", target=customer)
    by_admin = audit.record(actor=admin_user, action="accounts.role_changed", target=customer)

    assert links_to_user(event_page(superadmin, by_super), superadmin)
    assert links_to_user(event_page(admin_user, by_admin), admin_user)
