"""The audit log is append-only: nothing edits or deletes an event, by any route."""

import pytest

from apps.audit.models import AppendOnlyError, AuditEvent


@pytest.fixture
def event(make_event, customer):
    return make_event("accounts.login", actor=customer, target=customer, method="password")


def _unchanged(event):
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.actor_label, stored.details) == (
        "accounts.login", event.actor_label, {"method": "password"})


def test_saving_an_existing_event_is_refused(event):
    event.action = "accounts.logout"
    with pytest.raises(AppendOnlyError):
        event.save()
    _unchanged(event)


def test_saving_a_new_instance_over_an_existing_id_is_refused(event):
    impostor = AuditEvent(pk=event.pk, action="accounts.logout")
    with pytest.raises(AppendOnlyError):
        impostor.save()
    _unchanged(event)


def test_queryset_update_is_refused(event):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="accounts.logout")
    _unchanged(event)


def test_bulk_update_is_refused(event):
    event.action = "accounts.logout"
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["action"])
    _unchanged(event)


def test_deleting_an_instance_is_refused(event):
    with pytest.raises(AppendOnlyError):
        event.delete()
    _unchanged(event)


def test_queryset_delete_is_refused(event):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    _unchanged(event)


def test_deleting_the_actor_keeps_the_event_and_its_label(event, customer):
    label = customer.email
    customer.delete()
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor_id is None
    assert stored.actor_label == label
