"""Alert channels and thresholds over the API: super admins only; bad input is a 400 naming the
field with nothing saved; a webhook's secret is answered once, when generated, and never again
(nor written to the audit log)."""

import json

import pytest

from apps.audit.models import AuditEvent
from apps.monitoring.models import AlertChannel, MonitoringSettings
from tests.conftest import token_client
from tests.servers.conftest import refused

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("enqueued")]

CHANNELS = "/api/monitoring/channels"
SETTINGS = "/api/monitoring/settings"


@pytest.fixture
def api(superadmin):
    return token_client(superadmin)


def create(api, **body):
    body = {"name": "pager", "kind": "webhook", "url": "https://1.2.3.4/hook", **body}
    return api.post(CHANNELS, body, format="json")


def everything_said(responses) -> str:
    audit = json.dumps(list(AuditEvent.objects.values_list("details", flat=True)))
    return audit + "".join(r.content.decode() for r in responses)


# --- Who may ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("get", CHANNELS), ("post", CHANNELS), ("get", f"{CHANNELS}/1"), ("patch", f"{CHANNELS}/1"),
    ("delete", f"{CHANNELS}/1"), ("post", f"{CHANNELS}/1/test"), ("get", SETTINGS),
    ("patch", SETTINGS)])
def test_only_super_admins_reach_the_configuration(personas, anon_api, method, path):
    AlertChannel.objects.create(pk=1, name="mail", kind="email")
    refused(getattr(token_client(personas["admin"]), method)(path, {}, format="json"), 403)
    for name in ("distributor", "user", "stranger"):
        refused(getattr(token_client(personas[name]), method)(path, {}, format="json"), 404)
    assert getattr(anon_api, method)(path, {}, format="json").status_code == 401
    assert AlertChannel.objects.get().name == "mail"
    assert not AuditEvent.objects.filter(action__startswith="monitoring.").exists()


# --- Channels --------------------------------------------------------------------------------

def test_a_webhook_secret_is_answered_once_and_never_again(api):
    made = create(api)
    assert made.status_code == 201, made.content
    secret = made.json()["secret"]
    assert len(secret) >= 40 and made.json()["channel"]["has_secret"] is True
    channel_id = made.json()["channel"]["id"]

    later = [api.get(CHANNELS), api.get(f"{CHANNELS}/{channel_id}"),
             api.patch(f"{CHANNELS}/{channel_id}", {"name": "pager 2"}, format="json")]

    assert all(r.status_code == 200 for r in later)
    assert secret not in everything_said(later)
    assert all("secret" not in r.json() for r in later)
    assert AlertChannel.objects.get().secret() == secret
    assert AuditEvent.objects.get(action="monitoring.channel_created").details["signing_set"]


def test_a_secret_given_by_the_caller_is_kept_and_not_echoed(api):
    made = create(api, secret="s" * 32)
    assert made.status_code == 201 and "secret" not in made.json()
    assert AlertChannel.objects.get().secret() == "s" * 32
    assert "s" * 32 not in everything_said([made])


def test_regenerating_the_secret_answers_the_new_one_once(api):
    first = create(api).json()
    changed = api.patch(f"{CHANNELS}/{first['channel']['id']}", {"regenerate_secret": True},
                        format="json")
    assert changed.status_code == 200
    new = changed.json()["secret"]
    assert new != first["secret"] and AlertChannel.objects.get().secret() == new
    event = AuditEvent.objects.get(action="monitoring.channel_changed")
    assert event.details["signing_changed"] is True
    assert new not in json.dumps(event.details)


def test_an_email_channel_lists_its_recipients(api):
    made = api.post(CHANNELS, {"name": "noc", "kind": "email",
                               "recipients": ["noc@example.com", "NOC@example.com",
                                              "pager@example.com"]}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["channel"]["recipients"] == ["noc@example.com", "pager@example.com"]
    assert "secret" not in made.json() and made.json()["channel"]["has_secret"] is False


@pytest.mark.parametrize("body, field", [
    ({"url": "ftp://1.2.3.4/hook"}, "url"),
    ({"url": "http://127.0.0.1/"}, "url"),
    ({"url": "http://169.254.169.254/latest/meta-data/"}, "url"),
    ({"url": "http://testserver/api/monitoring/channels"}, "url"),  # the panel itself
    ({"url": "http://user:pw@1.2.3.4/"}, "url"),
    ({"url": 5}, "url"),
    ({"url": ["https://1.2.3.4/"]}, "url"),
    ({"url": ""}, "url"),
    ({"kind": "sms"}, "kind"),
    ({"name": ""}, "name"),
    ({"name": ["pager"]}, "name"),
    ({"name": "x" * 65}, "name"),
    ({"min_severity": "high"}, "min_severity"),
    ({"enabled": "perhaps"}, "enabled"),
    ({"secret": "short"}, "secret"),
    ({"secret": ["s" * 20]}, "secret"),
    ({"colour": "red"}, "colour"),
    ({"kind": "email", "recipients": ["not-an-address"], "url": ""}, "recipients"),
    ({"kind": "email", "recipients": 5, "url": ""}, "recipients"),
    ({"kind": "email", "url": "https://1.2.3.4/"}, "url"),
])
def test_a_bad_channel_is_refused_and_nothing_is_saved(api, body, field):
    error = refused(create(api, **body), 400)
    assert field in error["fields"], error
    assert not AlertChannel.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="monitoring.").exists()


@pytest.mark.parametrize("body", [[], "text", [{"name": "x"}]])
def test_a_body_that_is_not_an_object_is_refused(api, body):
    refused(api.post(CHANNELS, body, format="json"), 400)
    assert not AlertChannel.objects.exists()


def test_a_taken_name_is_refused(api):
    create(api)
    error = refused(create(api, name="PAGER"), 400)
    assert "name" in error["fields"]
    assert AlertChannel.objects.count() == 1


@pytest.mark.parametrize("body, field", [
    ({"url": "http://10.0.0.1/"}, "url"),
    ({"kind": "email"}, "kind"),
    ({"enabled": [True]}, "enabled"),
])
def test_a_bad_change_is_refused_and_the_channel_is_unchanged(api, body, field):
    channel_id = create(api).json()["channel"]["id"]
    error = refused(api.patch(f"{CHANNELS}/{channel_id}", body, format="json"), 400)
    assert field in error["fields"]
    channel = AlertChannel.objects.get()
    assert (channel.url, channel.kind, channel.enabled) == ("https://1.2.3.4/hook", "webhook",
                                                            True)


def test_a_channel_is_changed_and_deleted_with_audit(api):
    channel_id = create(api).json()["channel"]["id"]
    changed = api.patch(f"{CHANNELS}/{channel_id}", {"enabled": False, "min_severity": "critical"},
                        format="json")
    assert changed.status_code == 200
    assert changed.json()["channel"]["enabled"] is False
    assert AuditEvent.objects.get(action="monitoring.channel_changed").details["changed"] == {
        "enabled": False, "min_severity": "critical"}

    assert api.delete(f"{CHANNELS}/{channel_id}").status_code == 200
    assert not AlertChannel.objects.exists()
    assert AuditEvent.objects.filter(action="monitoring.channel_deleted").exists()
    refused(api.get(f"{CHANNELS}/{channel_id}"), 404)


def test_testing_a_webhook_posts_a_signed_test_event(api, receiver):
    made = create(api, url=receiver.url).json()

    answer = api.post(f"{CHANNELS}/{made['channel']['id']}/test")

    assert answer.status_code == 200
    assert answer.json()["test"] == {"ok": True, "response_status": 200, "error": "",
                                     "recipients": 0}
    [received] = receiver.wait_for(1)
    assert received.headers["X-Derpmgr-Event"] == "test" and received.signed_with(made["secret"])
    assert made["secret"] not in answer.content.decode()


def test_a_failing_test_says_why(api, receiver):
    made = create(api, url=receiver.url).json()
    receiver.answers.append(500)
    answer = api.post(f"{CHANNELS}/{made['channel']['id']}/test")
    assert answer.status_code == 200
    assert answer.json()["test"]["ok"] is False
    assert answer.json()["test"]["response_status"] == 500


# --- Thresholds ------------------------------------------------------------------------------

def test_thresholds_are_read_and_changed(api):
    assert api.get(SETTINGS).json()["settings"]["failures_before_unhealthy"] == 3
    changed = api.patch(SETTINGS, {"failures_before_unhealthy": 5, "latency_warning_ms": "400",
                                   "probe_targets": ["8.8.8.8", "1.1.1.1"],
                                   "speed_test_url": "https://mirror.example/100M.bin"},
                        format="json")
    assert changed.status_code == 200, changed.content
    current = MonitoringSettings.current()
    assert (current.failures_before_unhealthy, current.latency_warning_ms) == (5, 400)
    assert current.probe_targets == "8.8.8.8\n1.1.1.1"
    assert changed.json()["settings"]["probe_targets"] == ["8.8.8.8", "1.1.1.1"]
    event = AuditEvent.objects.get(action="monitoring.settings_changed")
    assert event.details["changed"]["failures_before_unhealthy"] == {"from": 3, "to": 5}


@pytest.mark.parametrize("body, field", [
    ({"failures_before_unhealthy": 0}, "failures_before_unhealthy"),
    ({"failures_before_unhealthy": 21}, "failures_before_unhealthy"),
    ({"failures_before_unhealthy": [3]}, "failures_before_unhealthy"),
    ({"failures_before_unhealthy": {"n": 3}}, "failures_before_unhealthy"),
    ({"failures_before_unhealthy": "three"}, "failures_before_unhealthy"),
    ({"failures_before_unhealthy": 2.5}, "failures_before_unhealthy"),
    ({"failures_before_unhealthy": None}, "failures_before_unhealthy"),
    ({"disk_warning_percent": 101}, "disk_warning_percent"),
    ({"memory_warning_percent": -1}, "memory_warning_percent"),
    ({"latency_warning_ms": 10**20}, "latency_warning_ms"),
    ({"repeat_notification_minutes": 1}, "repeat_notification_minutes"),
    ({"failover_after_minutes": 0}, "failover_after_minutes"),
    ({"probe_targets": "1.2.3.4; rm -rf /"}, "probe_targets"),
    ({"probe_targets": "169.254.169.254"}, "probe_targets"),
    ({"probe_targets": "127.0.0.1"}, "probe_targets"),
    ({"probe_targets": [1, 2]}, "probe_targets"),
    ({"probe_targets": "\n".join(f"8.8.8.{n}" for n in range(21))}, "probe_targets"),
    ({"speed_test_url": "ftp://mirror.example/f"}, "speed_test_url"),
    ({"speed_test_url": "http://user:pw@mirror.example/f"}, "speed_test_url"),
    ({"speed_test_url": ["https://x.example/"]}, "speed_test_url"),
    ({"colour": "red"}, "colour"),
])
def test_bad_thresholds_are_refused_and_nothing_changes(api, body, field):
    before = api.get(SETTINGS).json()["settings"]
    error = refused(api.patch(SETTINGS, {"successes_before_healthy": 4, **body}, format="json"),
                    400)
    assert field in error["fields"], error
    assert api.get(SETTINGS).json()["settings"] == before
    assert not AuditEvent.objects.filter(action="monitoring.settings_changed").exists()


def test_a_speed_test_url_longer_than_its_column_is_refused(api):
    url = "https://mirror.example/" + "f" * 190
    error = refused(api.patch(SETTINGS, {"speed_test_url": url}, format="json"), 400)
    assert "speed_test_url" in error["fields"]
