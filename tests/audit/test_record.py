"""apps.audit.services.record: who, what, which object, from where, and never a secret."""

from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser

from apps.audit import services
from apps.audit.models import AuditEvent


def test_record_keeps_actor_target_and_ip(admin_user, customer):
    event = services.record(actor=admin_user, action="accounts.role_changed", target=customer,
                            ip="203.0.113.7", details={"from": "user", "to": "distributor"})
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor == admin_user
    assert stored.actor_label == admin_user.email
    assert stored.action == "accounts.role_changed"
    assert (stored.target_type, stored.target_id, stored.target_label) == (
        "accounts.user", str(customer.pk), customer.email)
    assert stored.ip == "203.0.113.7"
    assert stored.details == {"from": "user", "to": "distributor"}


def test_record_without_actor_or_target_is_the_system(db):
    event = services.record(actor=None, action="notifications.dispatched")
    assert (event.actor, event.actor_label, event.target_type, event.target_id, event.ip) == (
        None, "", "", "", None)


def test_an_anonymous_visitor_is_recorded_as_no_actor_with_the_given_label(db):
    event = services.record(actor=AnonymousUser(), action="accounts.login_failed",
                            actor_label="who@example.com")
    assert event.actor is None
    assert event.actor_label == "who@example.com"


def test_record_scrubs_secret_keys_at_any_depth(customer):
    event = services.record(actor=customer, action="accounts.test", details={
        "password": "hunter22",
        "Token": "dm_abc",
        "method": "api",
        "nested": {"client_secret": "s3cr3t", "new_password": "x", "api_key": "k", "ok": 1},
        "devices": [{"otp": "123456", "name": "phone"}],
        "backup_codes": ["a1", "b2"],
    })
    details = AuditEvent.objects.get(pk=event.pk).details
    assert details == {
        "password": "***",
        "Token": "***",
        "method": "api",
        "nested": {"client_secret": "***", "new_password": "***", "api_key": "***", "ok": 1},
        "devices": [{"otp": "***", "name": "phone"}],
        "backup_codes": "***",
    }
    assert "hunter22" not in str(details) and "s3cr3t" not in str(details)


def test_record_keeps_harmless_keys_that_only_mention_a_secret_word(customer):
    event = services.record(actor=customer, action="accounts.logout",
                            details={"token_prefix": "abc123", "key_count": 2})
    assert event.details == {"token_prefix": "abc123", "key_count": 2}


def test_record_stores_dates_decimals_and_sets_as_plain_json(customer):
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    event = services.record(actor=customer, action="billing.paid",
                            details={"at": when, "amount": Decimal("9.90"), "tags": {"b"}, 7: "x"})
    stored = AuditEvent.objects.get(pk=event.pk).details
    assert stored == {"at": "2024-05-01T12:00:00Z", "amount": "9.90", "tags": ["b"], "7": "x"}


def test_an_unusable_ip_or_an_overlong_label_does_not_lose_the_event(db):
    event = services.record(actor=None, action="accounts.login_failed", ip="unix:/run/derp.sock",
                            actor_label="x" * 300)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.ip is None
    assert stored.actor_label == "x" * 254
