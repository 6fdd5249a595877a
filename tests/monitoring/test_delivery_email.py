"""E-mail channels: each alert event is queued in the outbox for the channel's addresses, or for
the admins on duty; the outbox's per-address limit defers mail, never drops it. A still-open
alert is repeated once per interval, not before."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.accounts.models import Role
from apps.monitoring import config, delivery
from apps.monitoring.models import AlertDelivery, AlertEvent, DeliveryState, MonitoringSettings
from apps.notifications import services as outbox
from apps.notifications.models import EmailStatus, OutboundEmail
from tests.factories import UserFactory
from tests.notifications.support import FakeTransport

from .webhook_receiver import healthy_again, unhealthy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("enqueued")]

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai


def email_channel(superadmin, **fields):
    channel, _secret = config.create_channel(actor=superadmin, data={
        "name": fields.pop("name", "on duty"), "kind": "email", **fields})
    return channel


@pytest.fixture
def on_duty(superadmin, admin_user):
    """Two staff with e-mail; a deactivated admin and a customer get nothing."""
    UserFactory(username="gone", role=Role.ADMIN, is_active=False)
    UserFactory(username="alice", role=Role.USER)
    return [superadmin.email, admin_user.email]


def mail_to(address):
    return OutboundEmail.objects.filter(to=address).order_by("pk")


def test_an_email_channel_without_addresses_writes_to_every_admin_on_duty(
        superadmin, on_duty, make_server):
    channel = email_channel(superadmin)
    with time_machine.travel(T0, tick=False):
        alert = unhealthy(make_server("sh-1"))

    assert sorted(OutboundEmail.objects.values_list("to", flat=True)) == sorted(on_duty)
    mail = mail_to(on_duty[1]).get()
    assert mail.template == "alert"
    assert mail.subject == "[Critical] Server unhealthy: sh-1"
    assert "SSH timed out" in mail.body_text and "failures: 3" in mail.body_text
    assert "2026-12-01 17:00:00 (Asia/Shanghai)" in mail.body_text
    assert f"http://testserver/ops/alerts/{alert.pk}/" in mail.body_text
    assert f'href="http://testserver/ops/alerts/{alert.pk}/"' in mail.body_html
    row = AlertDelivery.objects.get(channel=channel)
    assert (row.event, row.state, row.sequence) == (AlertEvent.OPENED, DeliveryState.SENT, 0)


def test_the_resolution_is_mailed_too(superadmin, on_duty, make_server):
    email_channel(superadmin)
    server = make_server("sh-1")
    unhealthy(server)
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        healthy_again(server)

    mail = mail_to(on_duty[0]).last()
    assert mail.subject == "[Resolved] Server unhealthy: sh-1"
    assert "Resolved: 2026-12-01 17:30:00" in mail.body_text


def test_listed_addresses_get_the_mail_instead_of_the_admins(superadmin, on_duty, make_server):
    email_channel(superadmin, recipients=["noc@example.com", "pager@example.com"])
    unhealthy(make_server())

    assert sorted(OutboundEmail.objects.values_list("to", flat=True)) == [
        "noc@example.com", "pager@example.com"]


def test_without_any_channel_the_admins_on_duty_are_mailed_from_warning_up(
        on_duty, make_server):
    from apps.monitoring import services as alerts
    from apps.monitoring.models import AlertType

    alerts.open_alert(type=AlertType.DISK_HIGH, target=make_server(), severity="info",
                      message="disk 80 %")
    assert OutboundEmail.objects.count() == 0

    unhealthy(make_server(), severity="warning")

    assert sorted(OutboundEmail.objects.values_list("to", flat=True)) == sorted(on_duty)
    assert AlertDelivery.objects.count() == 0  # no channel, so no delivery row


def test_disabling_every_channel_silences_alerts(superadmin, on_duty, make_server):
    channel = email_channel(superadmin)
    config.update_channel(actor=superadmin, channel=channel, data={"enabled": False})

    unhealthy(make_server())

    assert OutboundEmail.objects.count() == 0


def test_the_outbox_limit_defers_alert_mail_and_never_drops_it(superadmin, make_server):
    email_channel(superadmin, recipients=["noc@example.com"])
    for n in range(7):
        unhealthy(make_server(f"sh-{n}"))
    transport = FakeTransport()

    outbox.dispatch_outbox(transport=transport)

    assert len(transport.sent) == 5
    statuses = sorted(mail_to("noc@example.com").values_list("status", flat=True))
    assert statuses == sorted([EmailStatus.SENT] * 5 + [EmailStatus.DEFERRED] * 2)
    assert set(AlertDelivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}


def test_a_still_open_alert_is_repeated_once_per_interval_and_not_before(superadmin,
                                                                         make_server):
    channel = email_channel(superadmin, recipients=["noc@example.com"])
    MonitoringSettings.objects.update_or_create(pk=1, defaults={"repeat_notification_minutes": 30})
    server = make_server("sh-1")
    with time_machine.travel(T0, tick=False) as clock:
        unhealthy(server)
        clock.move_to(T0 + timedelta(minutes=29))
        unhealthy(server)  # seen again within the interval: nothing new
        assert mail_to("noc@example.com").count() == 1

        clock.move_to(T0 + timedelta(minutes=30))
        unhealthy(server)
        unhealthy(server)  # the same probe round seen twice: one reminder
        clock.move_to(T0 + timedelta(minutes=59))
        unhealthy(server)
        clock.move_to(T0 + timedelta(minutes=61))
        alert = unhealthy(server)

    rows = AlertDelivery.objects.filter(channel=channel).order_by("sequence")
    assert [(r.event, r.sequence) for r in rows] == [
        ("opened", 0), ("repeated", 1), ("repeated", 2)]
    assert alert.notifications == 3
    # Mail to an address with no account is in the panel's language (zh-hans by default).
    assert mail_to("noc@example.com").last().subject == "[严重, 仍未解决] 服务器异常: sh-1"


def test_an_acknowledged_alert_is_not_repeated_but_its_resolution_is_sent(superadmin,
                                                                          make_server):
    from apps.monitoring import services as alerts

    email_channel(superadmin, recipients=["noc@example.com"])
    MonitoringSettings.objects.update_or_create(pk=1, defaults={"repeat_notification_minutes": 5})
    server = make_server("sh-1")
    with time_machine.travel(T0, tick=False) as clock:
        alert = unhealthy(server)
        alerts.acknowledge(actor=superadmin, alert=alert, note="provider ticket 42")
        clock.move_to(T0 + timedelta(hours=2))
        unhealthy(server)
        healthy_again(server)

    assert list(AlertDelivery.objects.order_by("pk").values_list("event", flat=True)) == [
        "opened", "resolved"]


def test_a_test_notification_is_queued_for_the_channel(superadmin, on_duty):
    channel = email_channel(superadmin)

    result = config.test_channel(actor=superadmin, channel=channel)

    assert (result.ok, result.recipients) == (True, 2)
    assert set(OutboundEmail.objects.values_list("subject", flat=True)) == {
        "derpmgr: a test notification"}
    assert AlertDelivery.objects.count() == 0


def test_the_backoff_grows_and_stays_bounded():
    waits = [delivery.backoff(n) for n in range(1, 10)]
    assert waits[:4] == [timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10),
                         timedelta(hours=1)]
    assert waits == sorted(waits) and waits[-1] == timedelta(hours=6)
