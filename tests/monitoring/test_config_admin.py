"""The admin: super admins edit alert channels and thresholds (through the audited verbs, the
secret shown once after it was generated and never on a page); admins cannot; an alert is
acknowledged with a note by whoever holds monitoring.acknowledge_alert."""

import pytest
from django.contrib.auth.models import Group, Permission

from apps.accounts.models import Role
from apps.audit.models import AuditEvent
from apps.monitoring.models import Alert, AlertChannel, MonitoringSettings
from tests.conftest import signed_in_client
from tests.servers.conftest import grant

from .webhook_receiver import unhealthy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("enqueued")]

CHANNELS = "/admin/monitoring/alertchannel/"
SETTINGS = "/admin/monitoring/monitoringsettings/"
ALERTS = "/admin/monitoring/alert/"


def channel_form(**fields):
    return {"name": "pager", "kind": "webhook", "enabled": "on", "min_severity": "warning",
            "recipients": "", "url": "https://1.2.3.4/hook", "secret": "", **fields}


def settings_form(**fields):
    current = MonitoringSettings.current()
    data = {name: getattr(current, name) for name in (
        "failures_before_unhealthy", "successes_before_healthy", "relay_failures_before_alert",
        "latency_warning_ms", "disk_warning_percent", "memory_warning_percent",
        "failover_after_minutes", "failover_cooldown_minutes", "repeat_notification_minutes",
        "probe_targets", "speed_test_url")}
    return {**data, **fields}


def test_a_super_admin_adds_a_webhook_and_sees_its_secret_once(superadmin):
    browser = signed_in_client(superadmin)

    added = browser.post(f"{CHANNELS}add/", channel_form(), follow=True)

    assert added.status_code == 200
    channel = AlertChannel.objects.get()
    secret = channel.secret()
    assert len(secret) >= 40 and secret in added.content.decode()
    pages = [browser.get(CHANNELS), browser.get(f"{CHANNELS}{channel.pk}/change/")]
    assert all(p.status_code == 200 for p in pages)
    assert not any(secret in p.content.decode() for p in pages)
    assert AuditEvent.objects.filter(action="monitoring.channel_created").exists()


def test_editing_a_channel_keeps_its_secret_unless_asked(superadmin):
    browser = signed_in_client(superadmin)
    browser.post(f"{CHANNELS}add/", channel_form())
    channel = AlertChannel.objects.get()
    secret = channel.secret()

    browser.post(f"{CHANNELS}{channel.pk}/change/", channel_form(name="pager 2"))
    assert AlertChannel.objects.get().secret() == secret
    renewed = browser.post(f"{CHANNELS}{channel.pk}/change/",
                           channel_form(name="pager 2", regenerate_secret="on"), follow=True)

    channel.refresh_from_db()
    assert channel.name == "pager 2" and channel.secret() != secret
    assert channel.secret() in renewed.content.decode()
    assert [e.details["signing_changed"] for e in AuditEvent.objects.filter(
        action="monitoring.channel_changed").order_by("pk")] == [False, True]


@pytest.mark.parametrize("fields, says", [
    ({"url": "http://127.0.0.1:6379/"}, "loopback"),
    ({"url": "ftp://1.2.3.4/"}, "Only http:// and https://"),
    ({"url": "http://testserver/"}, "the panel itself"),
    ({"kind": "email", "url": "", "recipients": "not an address"}, "valid email"),
])
def test_a_bad_channel_is_shown_on_the_form_and_not_saved(superadmin, fields, says):
    page = signed_in_client(superadmin).post(f"{CHANNELS}add/", channel_form(**fields))
    assert page.status_code == 200
    assert says in page.content.decode()
    assert not AlertChannel.objects.exists()


def test_admins_cannot_see_or_edit_channels_or_thresholds(admin_user):
    AlertChannel.objects.create(name="mail", kind="email")
    browser = signed_in_client(admin_user)
    for path in (CHANNELS, f"{CHANNELS}add/", SETTINGS, f"{SETTINGS}1/change/"):
        assert browser.get(path).status_code == 403, path
    assert browser.post(f"{CHANNELS}add/", channel_form()).status_code == 403
    assert browser.post(f"{SETTINGS}1/change/",
                        settings_form(failures_before_unhealthy=9)).status_code == 403
    assert AlertChannel.objects.count() == 1
    assert MonitoringSettings.current().failures_before_unhealthy == 3


def test_the_thresholds_page_saves_through_the_verb_and_refuses_bad_targets(superadmin):
    browser = signed_in_client(superadmin)
    assert browser.get(SETTINGS)["Location"].endswith(f"{SETTINGS}1/change/")

    bad = browser.post(f"{SETTINGS}1/change/", settings_form(probe_targets="8.8.8.8; reboot",
                                                            failures_before_unhealthy=9))
    assert bad.status_code == 200 and "not a host name" in bad.content.decode()
    assert MonitoringSettings.current().failures_before_unhealthy == 3
    out_of_range = browser.post(f"{SETTINGS}1/change/", settings_form(disk_warning_percent=150))
    assert out_of_range.status_code == 200
    assert MonitoringSettings.current().disk_warning_percent == 90

    saved = browser.post(f"{SETTINGS}1/change/", settings_form(probe_targets="8.8.8.8\n1.1.1.1",
                                                              failures_before_unhealthy=4))
    assert saved.status_code == 302
    current = MonitoringSettings.current()
    assert (current.failures_before_unhealthy, current.probe_targets) == (4, "8.8.8.8\n1.1.1.1")
    assert AuditEvent.objects.get(action="monitoring.settings_changed").details["changed"] == {
        "failures_before_unhealthy": {"from": 3, "to": 4},
        "probe_targets": {"from": "", "to": "8.8.8.8\n1.1.1.1"}}


def test_a_test_notification_from_the_channel_list(superadmin, receiver):
    browser = signed_in_client(superadmin)
    browser.post(f"{CHANNELS}add/", channel_form(url=receiver.url))
    channel = AlertChannel.objects.get()

    page = browser.post(CHANNELS, {"action": "send_test", "_selected_action": [channel.pk]},
                        follow=True)

    assert "answered 200" in page.content.decode()
    [received] = receiver.wait_for(1)
    assert received.signed_with(channel.secret()) and received.json["event"] == "test"


def test_acknowledging_asks_for_a_note_and_needs_the_permission(admin_user, make_server):
    alert = unhealthy(make_server("sh-1"))
    # The admin role acknowledges by default; a super admin may take that from the role.
    Group.objects.get(name=Role.ADMIN).permissions.remove(
        Permission.objects.get(content_type__app_label="monitoring", codename="acknowledge_alert"))
    browser = signed_in_client(admin_user)
    action = {"action": "acknowledge", "_selected_action": [alert.pk]}

    assert "Acknowledge with a note" not in browser.get(ALERTS).content.decode()
    browser.post(ALERTS, {**action, "apply": "1", "note": "on it"})
    assert Alert.objects.get().acknowledged_at is None

    grant(admin_user, "monitoring.acknowledge_alert")
    browser = signed_in_client(admin_user)
    asking = browser.post(ALERTS, action)
    assert asking.status_code == 200 and 'name="note"' in asking.content.decode()
    assert browser.post(ALERTS, {**action, "apply": "1", "note": ""}).status_code == 400
    browser.post(ALERTS, {**action, "apply": "1", "note": "provider ticket 42"})

    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.acknowledgement) == (admin_user, "provider ticket 42")


def test_alerts_and_deliveries_are_read_only_in_the_admin(superadmin, make_server):
    alert = unhealthy(make_server("sh-1"))
    browser = signed_in_client(superadmin)
    assert browser.get(f"{ALERTS}?state=open").status_code == 200
    assert browser.get(f"{ALERTS}add/").status_code == 403
    browser.post(f"{ALERTS}{alert.pk}/change/", {"message": "changed"})
    assert Alert.objects.get().message == "SSH timed out"
