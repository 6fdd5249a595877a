"""Provisioning through the service: three relays on three servers, each a container with the
right labels, ports and derper arguments; running it again changes nothing."""

from apps.accounts.models import RentalState
from apps.audit.models import AuditEvent
from apps.containers import services
from apps.containers.engine import LABEL_INSTANCE, LABEL_PANEL, LABEL_SERVER, LABEL_USER
from apps.containers.models import DerpInstance, InstanceStatus
from tests.containers.conftest import give_rental


def test_a_rental_gets_three_running_relays_on_three_servers(renter, three_servers, fake_engine):
    report = services.provision_rental(user_id=renter.pk, servers=3)

    relays = DerpInstance.objects.filter(user=renter)
    assert len(report.created) == 3 and report.missing == 0
    assert {r.status for r in relays} == {InstanceStatus.RUNNING}
    assert sorted(r.server_id for r in relays) == sorted(s.pk for s in three_servers)
    for r in relays:
        assert r.container_id and r.started_at and r.attempts == 1
        assert list(fake_engine.on(r.server)) == [r.container_name]


def test_each_container_carries_labels_that_name_it(renter, three_servers, fake_engine, settings):
    services.provision_rental(user_id=renter.pk, servers=3)

    for r in DerpInstance.objects.filter(user=renter):
        container = fake_engine.on(r.server)[r.container_name]
        assert container["labels"] == {LABEL_PANEL: settings.PANEL_ID, LABEL_SERVER: str(r.server_id),
                                       LABEL_INSTANCE: str(r.pk), LABEL_USER: str(renter.pk)}
        assert container["port"] == r.port == 30000


def test_derper_listens_on_the_relay_port_and_asks_the_panel_to_admit(renter, three_servers,
                                                                      fake_engine, settings):
    services.provision_rental(user_id=renter.pk, servers=1)

    r = DerpInstance.objects.get(user=renter)
    command = fake_engine.on(r.server)[r.container_name]["command"]
    assert command[command.index("-a") + 1] == f":{r.port}"
    assert command[command.index("-stun-port") + 1] == str(r.port)
    assert command[command.index("-hostname") + 1] == r.server.public_ip
    url = command[command.index("-verify-client-url") + 1]
    assert url == f"{settings.PANEL_URL}/api/acl/admit/{r.admission_token}"
    assert "-verify-client-url-fail-open=false" in command


def test_provisioning_twice_makes_nothing_new(renter, three_servers, fake_engine):
    services.provision_rental(user_id=renter.pk, servers=3)
    again = services.provision_rental(user_id=renter.pk, servers=3)

    assert again.created == [] and again.missing == 0
    assert DerpInstance.objects.filter(user=renter).count() == 3
    assert len(fake_engine.containers) == 3


def test_stopped_relays_are_started_again_not_duplicated(renter, three_servers, fake_engine):
    services.provision_rental(user_id=renter.pk, servers=3)
    first = DerpInstance.objects.filter(user=renter).first()
    services.stop_instance(actor=None, instance=first)

    report = services.provision_rental(user_id=renter.pk, servers=3)

    assert report.restarted == [first.pk] and report.created == []
    first.refresh_from_db()
    assert first.status == InstanceStatus.RUNNING
    assert fake_engine.on(first.server)[first.container_name]["running"]


def test_a_user_without_an_active_rental_gets_nothing(customer, three_servers, fake_engine):
    give_rental(customer, state=RentalState.SUSPENDED)
    report = services.provision_rental(user_id=customer.pk, servers=3)
    assert report.created == [] and not DerpInstance.objects.exists()
    assert fake_engine.calls == []


def test_provisioning_is_audited(renter, three_servers, fake_engine):
    services.provision_rental(user_id=renter.pk, servers=3)
    event = AuditEvent.objects.get(action="containers.provisioning")
    assert sorted(event.details["instances"]) == sorted(
        DerpInstance.objects.filter(user=renter).values_list("pk", flat=True))


def test_a_server_that_does_not_answer_is_passed_over(renter, three_servers, fake_engine):
    fake_engine.down.add(three_servers[0].pk)
    report = services.provision_rental(user_id=renter.pk, servers=3)
    assert len(report.created) == 2 and report.missing == 1
    three_servers[0].refresh_from_db()
    assert "unreachable" in three_servers[0].last_error
