"""At most 5 e-mails to one address in any 10 minutes: more wait for the window, none is dropped,
and a user asking for more is told when to try again."""

from datetime import timedelta

import pytest
from django.utils import translation

from apps.notifications import services
from apps.notifications.models import EmailStatus
from derpmgr.errors import RateLimited

from .support import T0, queue_mail

pytestmark = pytest.mark.django_db

WINDOW = timedelta(minutes=10)


def test_the_sixth_mail_within_ten_minutes_waits_for_the_window_then_goes(clock, mailbox):
    emails = [queue_mail("alice@example.com", f"mail {n}") for n in range(1, 7)]

    report = services.dispatch_outbox()

    assert (report.sent, report.rate_limited) == (5, 1)
    assert [m.subject for m in mailbox.to("alice@example.com")] == [f"mail {n}" for n in range(1, 6)]
    sixth = emails[-1]
    sixth.refresh_from_db()
    assert sixth.status == EmailStatus.DEFERRED
    assert sixth.next_attempt_at == T0 + WINDOW  # the first slot plus ten minutes
    assert sixth.attempts == 0  # waiting for the limit is not a failed attempt
    assert "rate limit" in sixth.last_error

    clock.move_to(T0 + WINDOW - timedelta(seconds=1))
    services.dispatch_outbox()
    assert len(mailbox.to("alice@example.com")) == 5

    clock.move_to(T0 + WINDOW)
    services.dispatch_outbox()
    sixth.refresh_from_db()
    assert sixth.status == EmailStatus.SENT
    assert [m.subject for m in mailbox.to("alice@example.com")][-1] == "mail 6"
    assert len(mailbox.delivered) == 6


def test_a_busy_address_does_not_hold_up_another(clock, mailbox):
    for n in range(6):
        queue_mail("alice@example.com", f"alice {n}")
    bob = queue_mail("bob@example.com", "for bob")

    services.dispatch_outbox()

    bob.refresh_from_db()
    assert bob.status == EmailStatus.SENT
    assert [m.subject for m in mailbox.to("bob@example.com")] == ["for bob"]
    assert len(mailbox.to("alice@example.com")) == 5


def test_the_limit_counts_one_address_however_it_is_spelled(clock, mailbox):
    for n in range(3):
        queue_mail("alice@example.com", f"lower {n}")
    for n in range(3):
        queue_mail(" Alice@Example.COM", f"mixed {n}")

    report = services.dispatch_outbox()

    assert (report.sent, report.rate_limited) == (5, 1)
    assert len(mailbox.to("alice@example.com")) == 5


def test_the_window_slides_instead_of_restarting_every_ten_minutes(clock, mailbox):
    for n in range(3):
        queue_mail("alice@example.com", f"at 0 min #{n}")
    services.dispatch_outbox()
    clock.move_to(T0 + timedelta(minutes=5))
    for n in range(2):
        queue_mail("alice@example.com", f"at 5 min #{n}")
    services.dispatch_outbox()

    clock.move_to(T0 + timedelta(minutes=10))
    for n in range(3):
        queue_mail("alice@example.com", f"at 10 min #{n}")
    fourth = queue_mail("alice@example.com", "waits for the 5-minute slots")
    services.dispatch_outbox()

    # (T0, T0+10 min] holds 2 slots from minute 5, so 3 more fit at minute 10 and no 4th.
    assert len(mailbox.to("alice@example.com")) == 8
    fourth.refresh_from_db()
    assert fourth.status == EmailStatus.DEFERRED
    assert fourth.next_attempt_at == T0 + timedelta(minutes=15)


def test_a_failed_send_gives_its_slot_back(clock, smtp_server):
    smtp_server.stop()
    for n in range(5):
        queue_mail("alice@example.com", f"mail {n}")
    services.dispatch_outbox()  # all five fail: SMTP is down
    smtp_server.start()
    queue_mail("alice@example.com", "a sixth, queued during the outage")

    clock.move_to(T0 + timedelta(minutes=1))
    report = services.dispatch_outbox()

    # Five slots are free again: five of the six go, one waits for the window.
    assert (report.sent, report.rate_limited) == (5, 1)
    assert len(smtp_server.mailbox.to("alice@example.com")) == 5


# --- A user's own action asks first (services.ensure_room) ---------------------------------

def test_a_user_may_ask_for_mail_while_the_address_has_room(clock, transport):
    for n in range(4):
        queue_mail("alice@example.com", f"mail {n}")
    services.dispatch_outbox(transport=transport)

    services.ensure_room("alice@example.com")  # does not raise


def test_a_user_over_the_limit_is_told_when_to_try_again(clock, transport):
    for n in range(5):
        queue_mail("alice@example.com", f"mail {n}")
    services.dispatch_outbox(transport=transport)
    clock.move_to(T0 + timedelta(minutes=4))

    with translation.override("en"), pytest.raises(RateLimited) as refused:
        services.ensure_room("Alice@example.com")

    assert refused.value.retry_after == 6 * 60
    assert refused.value.status == 429
    assert str(refused.value.message) == "Too many attempts. Please try again in 6 minutes."


def test_mail_still_waiting_in_the_outbox_counts_against_the_limit(clock):
    for n in range(5):
        queue_mail("alice@example.com", f"mail {n}")  # not sent yet

    with pytest.raises(RateLimited) as refused:
        services.ensure_room("alice@example.com")

    assert refused.value.retry_after == 10 * 60


def test_the_wait_covers_mail_queued_ahead_of_the_new_one(clock, transport):
    for n in range(5):
        queue_mail("alice@example.com", f"sent {n}")
    services.dispatch_outbox(transport=transport)
    for n in range(5):
        queue_mail("alice@example.com", f"waiting {n}")  # these take the slots freed at T0+10
    clock.move_to(T0 + timedelta(minutes=1))

    with pytest.raises(RateLimited) as refused:
        services.ensure_room("alice@example.com")

    assert refused.value.retry_after == 19 * 60  # a new one would go at T0+20 min


def test_another_address_has_its_own_room(clock, transport):
    for n in range(5):
        queue_mail("alice@example.com", f"mail {n}")

    services.ensure_room("bob@example.com")  # does not raise
