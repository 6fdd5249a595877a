"""Placement: N distinct healthy servers under their relay limit and quota, least loaded first,
pinned servers first, never two relays of one user on one server."""

from apps.containers import services
from apps.containers.models import InstanceStatus
from apps.servers.models import ServerStatus
from tests.containers.conftest import make_server, relay
from tests.factories import UserFactory


def names(servers) -> list[str]:
    return [s.name for s in servers]


def test_only_healthy_servers_take_relays(renter):
    make_server(name="sick", status=ServerStatus.UNHEALTHY)
    make_server(name="draining", status=ServerStatus.DRAINING)
    make_server(name="resting", status=ServerStatus.MAINTENANCE)
    make_server(name="over", status=ServerStatus.OVER_QUOTA)
    make_server(name="fine")
    assert names(services.choose_servers(user=renter, count=5)) == ["fine"]


def test_a_server_at_its_relay_limit_is_left_out(renter):
    full = make_server(name="full", max_containers=1)
    relay(UserFactory(), full)
    make_server(name="roomy", max_containers=1)
    assert names(services.choose_servers(user=renter, count=2)) == ["roomy"]


def test_removed_and_failed_relays_do_not_count_against_the_limit(renter):
    server = make_server(name="one-slot", max_containers=1)
    relay(UserFactory(), server, status=InstanceStatus.REMOVED)
    relay(UserFactory(), server, status=InstanceStatus.ERROR)
    assert names(services.choose_servers(user=renter, count=1)) == ["one-slot"]


def test_a_server_over_its_monthly_quota_is_left_out(renter):
    make_server(name="spent", monthly_quota_bytes=1000, traffic_month_bytes=1000)
    make_server(name="some-left", monthly_quota_bytes=1000, traffic_month_bytes=999)
    make_server(name="no-quota", monthly_quota_bytes=0, traffic_month_bytes=10**12)
    assert sorted(names(services.choose_servers(user=renter, count=3))) == ["no-quota", "some-left"]


def test_the_least_loaded_server_comes_first(renter):
    busy = make_server(name="busy", max_containers=10)
    quiet = make_server(name="quiet", max_containers=10)
    big = make_server(name="big", max_containers=100)
    for _ in range(3):
        relay(UserFactory(), busy)
    relay(UserFactory(), quiet)
    for _ in range(5):
        relay(UserFactory(), big)  # 5 % load beats 10 % and 30 %
    assert names(services.choose_servers(user=renter, count=3)) == ["big", "quiet", "busy"]


def test_pinned_servers_come_first_whatever_their_load(renter):
    loaded = make_server(name="loaded", max_containers=10)
    for _ in range(5):
        relay(UserFactory(), loaded)
    make_server(name="empty-1")
    make_server(name="empty-2")
    chosen = services.choose_servers(user=renter, count=2, pinned_ids=[loaded.pk])
    assert names(chosen) == ["loaded", "empty-1"]


def test_a_pinned_server_that_cannot_take_relays_is_passed_over(renter):
    sick = make_server(name="sick", status=ServerStatus.UNHEALTHY)
    make_server(name="fine")
    assert names(services.choose_servers(user=renter, count=2, pinned_ids=[sick.pk])) == ["fine"]


def test_never_a_second_relay_of_one_user_on_one_server(renter, three_servers):
    relay(renter, three_servers[0])
    chosen = services.choose_servers(user=renter, count=3, pinned_ids=[three_servers[0].pk])
    assert names(chosen) == ["node-b", "node-c"]


def test_fewer_servers_than_wanted_are_reported_missing(renter, fake_engine):
    make_server(name="only-one")
    report = services.provision_rental(user_id=renter.pk, servers=3)
    assert len(report.created) == 1
    assert report.missing == 2
