"""Other apps raise their alerts: a customer short of relays (provisioning shortfall) until the
relays are in line again, and reconcile finding drift on a server until a run finds none."""

import pytest

from apps.containers import services as containers
from apps.containers.models import InstanceStatus
from apps.monitoring.models import Alert, AlertType, Severity, TargetKind
from apps.rentals import services as rentals
from tests.containers.conftest import make_server

pytestmark = pytest.mark.usefixtures("enqueued")


def open_alerts(type):
    return list(Alert.objects.open().filter(type=type))


def test_a_customer_short_of_relays_raises_an_alert_until_they_run(customer, superadmin,
                                                                   fake_engine, run_operations):
    rentals.extend(user=customer, days=30, actor=superadmin, via="test")
    run_operations()  # no server can take the relays

    [alert] = open_alerts(AlertType.SHORTFALL)
    assert (alert.target_kind, alert.target_id, alert.severity) == (
        TargetKind.CUSTOMER, customer.pk, Severity.WARNING)
    assert alert.details["relays_missing"] == 3

    for name in "xyz":
        make_server(name=f"new-{name}")
    rentals.recover_shortfalls()
    run_operations()

    assert open_alerts(AlertType.SHORTFALL) == []
    assert Alert.objects.get(pk=alert.pk).resolved_at is not None


def test_reconcile_drift_raises_an_alert_until_a_run_finds_none(customer, fake_engine,
                                                                place_relay):
    server = make_server()
    gone = place_relay(customer, server, engine=fake_engine)
    gone.status = InstanceStatus.REMOVED
    gone.save(update_fields=["status"])

    containers.reconcile_server(server=server)

    [alert] = open_alerts(AlertType.RECONCILE_DRIFT)
    assert (alert.target_kind, alert.target_id) == (TargetKind.SERVER, server.pk)
    assert alert.details["removed_orphans"] == [gone.container_name]

    containers.reconcile_server(server=server)  # nothing left to fix

    assert open_alerts(AlertType.RECONCILE_DRIFT) == []
