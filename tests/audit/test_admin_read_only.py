"""The Django admin shows the audit log read-only, to super admins too."""

import pytest

from apps.audit.models import AuditEvent
from tests.conftest import signed_in_client


@pytest.fixture
def event(make_event, customer):
    return make_event("accounts.login", actor=customer, target=customer)


@pytest.fixture
def root(superadmin):
    return signed_in_client(superadmin)


def test_super_admin_sees_the_list_without_add_or_bulk_delete(root, event):
    response = root.get("/admin/audit/auditevent/")
    assert response.status_code == 200
    assert b"Signed in" in response.content  # the action in words (apps/audit/labels.py)
    assert b"/admin/audit/auditevent/add/" not in response.content
    assert b"delete_selected" not in response.content


def test_super_admin_sees_an_event_without_a_save_button(root, event):
    response = root.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert b"/delete/" not in response.content


def test_posting_a_change_is_refused_and_changes_nothing(root, event):
    response = root.post(f"/admin/audit/auditevent/{event.pk}/change/",
                         {"action": "accounts.logout", "_save": "Save"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.action == "accounts.login"


def test_the_delete_page_is_refused_and_deletes_nothing(root, event):
    assert root.get(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    assert root.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_bulk_delete_action_is_refused(root, event):
    response = root.post("/admin/audit/auditevent/",
                         {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})
    assert response.status_code in (200, 302)  # "no such action", never a deletion
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_add_page_is_refused(root):
    assert root.get("/admin/audit/auditevent/add/").status_code == 403
    assert root.post("/admin/audit/auditevent/add/", {"action": "forged"}).status_code == 403


def test_an_admin_may_read_the_log_in_the_admin(admin_user, event):
    client = signed_in_client(admin_user)
    assert client.get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 200
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_super_admin_searches_the_log_by_address_or_actor(root, event, make_event):
    make_event("accounts.logout", ip="198.51.100.3")

    def found(query):
        response = root.get("/admin/audit/auditevent/", {"q": query})
        assert response.status_code == 200
        return [e.action for e in response.context["cl"].result_list]

    assert found("198.51.100") == ["accounts.logout"]
    assert found("alice@") == ["accounts.login"]
