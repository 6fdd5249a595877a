"""Monthly quotas after each sampling round: a warning at 80 %, the server over quota at 100 %
with its relays stopped (not removed), placement avoiding it, one e-mail per customer; the reset
day or a raised quota brings it all back. Time is passed as now=, figures are set on the rows."""

from apps.audit.models import AuditEvent
from apps.containers import services as containers
from apps.containers.models import DerpInstance, InstanceStatus
from apps.monitoring.models import Alert, AlertType, Severity
from apps.servers import services as servers
from apps.servers.models import ServerStatus
from tests.traffic.quota_support import (
    GB,
    NOW,
    RESET_DAY,
    fresh,
    mails,
    month_reset,
    quota_operations,
    round_,
    running_on_engine,
    used,
)


def open_alerts(server, type_):
    return list(Alert.objects.open().filter(type=type_, target_id=server.pk))


def test_79_percent_raises_nothing(capped):
    server = round_(used(capped["server"], 0.79))

    assert server.status == ServerStatus.HEALTHY
    assert not Alert.objects.exists()


def test_80_percent_warns_once_with_the_figures_and_the_reset_date(capped):
    server = used(capped["server"], 0.80)
    round_(server)
    round_(server)

    [warning] = open_alerts(server, AlertType.QUOTA_WARNING)
    assert warning.severity == Severity.WARNING
    assert warning.details["used_bytes"] == 80 * GB
    assert warning.details["quota_bytes"] == 100 * GB
    assert warning.details["remaining_bytes"] == 20 * GB
    assert warning.details["reset_date"] == "2026-12-05"
    assert "capped" in warning.message and "20.0\xa0GB left" in warning.message
    assert server.status == ServerStatus.HEALTHY
    assert not mails(capped["alice"], "quota-paused")


def test_100_percent_pauses_the_server_and_tells_each_customer_once(capped, run_operations,
                                                                    fake_engine):
    server = round_(used(capped["server"], 1.0))
    relays = capped["relays"]

    assert server.status == ServerStatus.OVER_QUOTA
    assert AuditEvent.objects.filter(action="servers.over_quota", target_id=str(server.pk)).count() == 1
    [critical] = open_alerts(server, AlertType.OVER_QUOTA)
    assert critical.severity == Severity.CRITICAL and "2026" in critical.message
    [operation] = quota_operations(server)
    assert operation.dedupe_key == f"quota:server:{server.pk}"
    assert fresh(relays["alice"]).paused_for_quota and fresh(relays["bob"]).paused_for_quota
    assert not fresh(relays["alice-other"]).paused_for_quota
    [to_alice] = mails(capped["alice"], "quota-paused")
    [_to_bob] = mails(capped["bob"], "quota-paused")
    assert f"{server.public_ip}:{relays['alice'].port}" in to_alice.body_text
    assert "2026-12-05" in to_alice.body_text and "other relay keeps working" in to_alice.body_text
    assert server not in containers.placeable_servers()  # placement avoids it

    run_operations()

    for name in ("alice", "bob"):  # stopped, not removed: port and container stay
        instance = fresh(relays[name])
        assert (instance.status, instance.port) == (InstanceStatus.STOPPED, relays[name].port)
        assert not running_on_engine(fake_engine, instance)
    assert fresh(relays["alice-other"]).status == InstanceStatus.RUNNING


def test_a_second_round_changes_nothing_more(capped, run_operations):
    server = round_(used(capped["server"], 1.2))
    run_operations()
    events = AuditEvent.objects.count()

    round_(server)

    assert len(quota_operations(server)) == 1
    assert len(mails(capped["alice"], "quota-paused")) == 1
    assert len(open_alerts(server, AlertType.OVER_QUOTA)) == 1
    assert AuditEvent.objects.count() == events
    assert run_operations() == 0


def test_the_reset_day_brings_the_server_and_relays_back(capped, run_operations, fake_engine):
    server = round_(used(capped["server"], 1.0))
    run_operations()

    round_(month_reset(server), now=RESET_DAY)
    run_operations()

    server.refresh_from_db()
    assert server.status == ServerStatus.HEALTHY
    for name in ("alice", "bob"):
        instance = fresh(capped["relays"][name])
        assert instance.status == InstanceStatus.RUNNING and not instance.paused_for_quota
        assert running_on_engine(fake_engine, instance)
    assert not Alert.objects.open().filter(target_id=server.pk).exists()
    assert len(mails(capped["alice"], "quota-resumed")) == 1
    assert len(mails(capped["bob"], "quota-resumed")) == 1
    assert server in containers.placeable_servers()

    round_(server, now=RESET_DAY)  # and the next round has nothing left to do
    assert len(mails(capped["alice"], "quota-resumed")) == 1
    assert run_operations() == 0


def test_raising_the_quota_brings_the_server_back_at_once(capped, run_operations, superadmin):
    server = round_(used(capped["server"], 1.0))
    run_operations()

    servers.update_server(actor=superadmin, server=server,
                          changes={"monthly_quota_bytes": 200 * GB})
    run_operations()

    server.refresh_from_db()
    assert server.status == ServerStatus.HEALTHY
    assert fresh(capped["relays"]["bob"]).status == InstanceStatus.RUNNING
    assert not open_alerts(server, AlertType.OVER_QUOTA)
    assert open_alerts(server, AlertType.QUOTA_WARNING) == []  # 50 % of the new quota


def test_removing_the_quota_brings_the_server_back(capped, run_operations, superadmin):
    server = round_(used(capped["server"], 1.0))
    run_operations()

    servers.update_server(actor=superadmin, server=server, changes={"monthly_quota_bytes": 0})
    run_operations()

    server.refresh_from_db()
    assert server.status == ServerStatus.HEALTHY
    assert fresh(capped["relays"]["alice"]).status == InstanceStatus.RUNNING


def test_maintenance_is_never_overwritten(capped, run_operations):
    server = capped["server"]
    server.status = ServerStatus.MAINTENANCE
    server.save(update_fields=["status"])

    round_(used(server, 1.5))
    run_operations()

    assert server.status == ServerStatus.MAINTENANCE
    assert fresh(capped["relays"]["alice"]).status == InstanceStatus.RUNNING
    assert not fresh(capped["relays"]["alice"]).paused_for_quota
    assert not mails(capped["alice"], "quota-paused") and not quota_operations(server)
    [critical] = open_alerts(server, AlertType.OVER_QUOTA)  # ops hear of it all the same
    assert "maintenance" in critical.message.lower()


def test_an_unhealthy_server_goes_over_quota_too(capped):
    server = capped["server"]
    servers.mark_health(server=server, healthy=False, reason="probe")

    assert round_(used(server, 1.0)).status == ServerStatus.OVER_QUOTA


def test_the_health_probe_does_not_take_an_over_quota_server_back(capped):
    server = round_(used(capped["server"], 1.0))

    assert not servers.mark_health(server=server, healthy=True)
    assert not servers.mark_health(server=server, healthy=False)
    server.refresh_from_db()
    assert server.status == ServerStatus.OVER_QUOTA


def test_a_stop_that_failed_is_asked_for_again_by_the_next_round(capped, run_operations,
                                                                 fake_engine, settings):
    settings.OPERATION_MAX_ATTEMPTS = 1
    server = round_(used(capped["server"], 1.0))
    fake_engine.down.add(server.pk)
    run_operations()  # gives up: the server does not answer
    assert fresh(capped["relays"]["bob"]).status == InstanceStatus.RUNNING

    fake_engine.down.clear()
    round_(server)
    run_operations()

    assert fresh(capped["relays"]["bob"]).status == InstanceStatus.STOPPED
    assert len(quota_operations(server)) == 2
    assert len(mails(capped["bob"], "quota-paused")) == 1


def test_a_customer_cannot_start_a_paused_relay(capped, run_operations):
    from apps.containers import requests as relay_requests
    from apps.operations.models import OperationKind
    from derpmgr.errors import Conflict

    round_(used(capped["server"], 1.0))
    run_operations()
    bob, instance = capped["bob"], fresh(capped["relays"]["bob"])

    for kind in (OperationKind.START, OperationKind.RESTART):
        try:
            relay_requests.relay_action(kind, actor=bob, instance=instance)
        except Conflict as refusal:
            assert refusal.code == "paused_for_quota"
        else:
            raise AssertionError("a paused relay was started by hand")
    assert DerpInstance.objects.get(pk=instance.pk).status == InstanceStatus.STOPPED


def test_servers_without_a_quota_are_left_alone(capped):
    other = capped["other"]
    other.traffic_month_bytes = 10**15
    other.save(update_fields=["traffic_month_bytes"])

    assert round_(other, now=NOW).status == ServerStatus.HEALTHY
    assert not Alert.objects.exists()
