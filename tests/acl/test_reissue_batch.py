"""The re-issue job works a chunk of users at a time: its queries do not grow with the users due,
each user gets the map `issue_version` would have made, and runs that overlap issue once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import RentalState
from apps.acl import admission, derpmap, renewal, services
from apps.acl.models import AclConfig, AclLog, DerpMapFeed
from apps.audit.models import AuditEvent
from apps.containers.models import InstanceStatus
from tests.containers.conftest import give_rental, make_server, relay
from tests.factories import UserFactory


def renters(count: int, servers) -> list:
    """Customers with an active rental, each with relays on one or two of `servers`."""
    users = []
    for n in range(count):
        user = give_rental(UserFactory())
        for server in servers[n % 2:n % 2 + 1 + n % 2]:
            relay(user, server)
        users.append(user)
    return users


def expire_soon(users) -> None:
    """Each user's derpMap as issued 30 days ago: two days left, so the job is due."""
    for user in users:
        services.issue_version(user=user, reason="test", notify=False)
    AclConfig.objects.filter(user__in=users).update(
        issued_at=timezone.now() - timedelta(days=30),
        expires_at=timezone.now() + timedelta(days=2))


def run_counting_queries() -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        issued = services.reissue_expiring()
    return issued, len(queries)


@pytest.mark.django_db
def test_the_job_costs_the_same_queries_for_3_and_for_30_users_due():
    servers = [make_server(), make_server(), make_server()]
    expire_soon(renters(3, servers))
    few = run_counting_queries()
    expire_soon(renters(30, servers))
    many = run_counting_queries()

    assert few[0] == 3 and many[0] == 30
    assert few[1] == many[1], f"{few[1]} queries for 3 users, {many[1]} for 30"


@pytest.mark.django_db
def test_the_job_works_in_chunks_and_renews_every_user_due():
    servers = [make_server(), make_server()]
    users = renters(7, servers)
    expire_soon(users)

    assert renewal.reissue_expiring(within=services.REISSUE_BEFORE,
                                    validity=services.ACL_VALIDITY, chunk=3) == 7
    assert sorted(AclConfig.objects.filter(reason="renewed").values_list("user_id", flat=True)) \
        == sorted(u.pk for u in users)


@pytest.mark.django_db
def test_each_user_gets_the_map_a_single_issue_would_make():
    servers = [make_server(), make_server(), make_server(domain="relay.example.com")]
    alice, bob, carol = renters(3, servers)
    expire_soon([alice, bob, carol])
    relay(bob, servers[0])  # bob's relays changed since his last version
    moving = relay(carol, servers[1], status=InstanceStatus.MIGRATING)
    replacement = relay(carol, servers[2])  # carol's relay moving away: gone from the map
    replacement.replaces = moving
    replacement.save(update_fields=["replaces"])
    AclLog.objects.create(user=carol, version=7, format="json")  # she took a version since gone
    DerpMapFeed.objects.filter(user=alice).delete()
    before = {u.pk: services.current_acl(u) for u in (alice, bob, carol)}
    expected = {u.pk: derpmap.build(u, previous=before[u.pk].derp_map) for u in (alice, bob, carol)}

    assert services.reissue_expiring() == 3

    for user in (alice, bob, carol):
        issued = services.current_acl(user)
        assert issued.derp_map == expected[user.pk]
        assert (issued.reason, issued.expires_at - issued.issued_at) == ("renewed",
                                                                        services.ACL_VALIDITY)
        event = AuditEvent.objects.filter(action="acl.issued", target_id=str(user.pk)).first()
        assert event.details == {"version": issued.version, "reason": "renewed",
                                 "changed": expected[user.pk] != before[user.pk].derp_map,
                                 "regions": sorted(expected[user.pk]["Regions"])}
        assert event.actor is None and event.target_label == str(user)
    assert services.current_acl(alice).version == 2
    assert services.current_acl(carol).version == 8  # never a number the download log names
    assert DerpMapFeed.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_only_active_unexpired_rentals_whose_map_ends_soon_are_renewed():
    servers = [make_server()]
    due, fresh, suspended, ended = renters(4, servers)
    expire_soon([due, suspended, ended])
    services.issue_version(user=fresh, reason="test", notify=False)
    give_rental(suspended, state=RentalState.SUSPENDED)
    ended.rental_expiry = timezone.now() - timedelta(minutes=1)
    ended.save(update_fields=["rental_expiry"])

    assert services.reissue_expiring() == 1
    assert list(AclConfig.objects.filter(reason="renewed").values_list("user_id", flat=True)) \
        == [due.pk]
    assert services.reissue_expiring() == 0


@pytest.mark.django_db(transaction=True)
def test_the_admission_answers_of_the_renewed_users_are_invalidated_once_committed(monkeypatch):
    servers = [make_server(), make_server()]
    renewed, untouched = renters(2, servers)
    expire_soon([renewed])
    services.issue_version(user=untouched, reason="test", notify=False)
    invalidated = []
    monkeypatch.setattr(admission, "invalidate_users", lambda ids: invalidated.append(list(ids)))

    assert services.reissue_expiring() == 1
    assert invalidated == [[renewed.pk]]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_overlapping_runs_on_postgresql_issue_each_version_once():
    servers = [make_server(), make_server()]
    users = renters(40, servers)
    expire_soon(users)
    start, issued, errors = threading.Barrier(4), [], []

    def run():
        try:
            start.wait(timeout=30)
            issued.append(renewal.reissue_expiring(within=services.REISSUE_BEFORE,
                                                   validity=services.ACL_VALIDITY, chunk=7))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == [] and not any(t.is_alive() for t in threads)
    assert sum(issued) == 40
    renewed = list(AclConfig.objects.filter(reason="renewed").values_list("user_id", flat=True))
    assert sorted(renewed) == sorted(u.pk for u in users)
