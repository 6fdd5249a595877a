"""AuditEvent.visible_to follows the object the event names: finance only for those who may see
finance, and an admin reads the events of the objects they may see — in the system log API, the
ops log page, the ops dashboard and the admin's audit list alike."""

import pytest
from django.contrib.auth.models import Permission

from apps.audit import services as audit
from apps.audit.models import AuditEvent
from apps.billing import services as billing
from apps.distribution.models import DistributorProfile, DistributorTier
from tests.conftest import signed_in_client, token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db



def grant(user, label: str) -> None:
    app_label, codename = label.split(".")
    user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label,
                                                     codename=codename))


def what_they_read(user) -> dict[str, list[int]]:
    """The events shown in every place the log is shown."""
    client = signed_in_client(user)
    pages = {"api": token_client(user).get("/api/logs/system"),
             "ops log": client.get("/ops/audit/"), "dashboard": client.get("/ops/"),
             "admin": client.get("/admin/audit/auditevent/")}
    assert {name: r.status_code for name, r in pages.items()} == dict.fromkeys(pages, 200)
    return {"api": [row["id"] for row in pages["api"].json()["results"]],
            "ops log": [e.pk for e in pages["ops log"].context["page"].object_list],
            "dashboard": [e.pk for e in pages["dashboard"].context["recent"]],
            "admin": [e.pk for e in pages["admin"].context["cl"].result_list]}


@pytest.fixture
def top_up(superadmin, distributor):
    billing.top_up(actor=superadmin, user=distributor, amount_fen=123_456, reference="bank transfer 7731")
    return AuditEvent.objects.get(action="billing.topped_up")


def test_money_events_are_marked_finance_when_written(top_up, customer):
    login = audit.record(actor=customer, action="accounts.login", target=customer)
    batch = audit.record(actor=customer, action="distribution.codes_generated",
                         details={"quantity": 5, "amount_fen": 9000})

    assert (top_up.finance, batch.finance, login.finance) == (True, True, False)


def test_an_admin_without_finance_reads_no_top_up_anywhere(admin_user, top_up):
    shown = what_they_read(admin_user)

    assert shown == {place: [] for place in shown}
    assert "123456" not in token_client(admin_user).get("/api/logs/system").content.decode()


def test_a_super_admin_and_an_admin_granted_finance_read_it(superadmin, admin_user, top_up):
    grant(admin_user, "billing.view_finance")

    for reader in (superadmin, admin_user):
        shown = what_they_read(reader)
        assert shown == {place: [top_up.pk] for place in shown}


def test_the_dashboard_shows_an_admin_no_finance(admin_user, top_up, customer):
    audit.record(actor=customer, action="accounts.login", target=customer)

    recent = signed_in_client(admin_user).get("/ops/").context["recent"]

    assert [event.action for event in recent] == ["accounts.login"]


def test_an_admin_reads_no_event_about_a_super_admin(admin_user, superadmin):
    audit.record(actor=superadmin, action="accounts.login", target=superadmin)

    assert AuditEvent.objects.visible_to(admin_user).count() == 0
    assert AuditEvent.objects.visible_to(superadmin).count() == 1


def test_an_admin_reads_the_events_of_their_own_distributors_only(admin_user, distributor):
    other_admin = UserFactory(username="ops2", role="admin")
    theirs = UserFactory(username="dealer2", role="distributor")
    gold = DistributorTier.objects.get(slug="gold")
    mine = DistributorProfile.objects.create(user=distributor, tier=gold, owner=admin_user)
    not_mine = DistributorProfile.objects.create(user=theirs, tier=gold, owner=other_admin)
    for profile in (mine, not_mine):
        audit.record(actor=profile.owner, action="admin.changed", target=profile,
                     details={"changes": {"tier": {"from": "gold", "to": "platinum"}}})

    seen = [e.target_id for e in AuditEvent.objects.visible_to(admin_user)]
    seen_by_other = [e.target_id for e in AuditEvent.objects.visible_to(other_admin)]

    assert (seen, seen_by_other) == ([str(mine.pk)], [str(not_mine.pk)])


def test_events_without_an_object_stay_with_all_staff(admin_user, customer):
    audit.record(actor=None, action="notifications.test_sent", details={"to": "x@example.com"})

    assert AuditEvent.objects.visible_to(admin_user).count() == 1
    assert AuditEvent.objects.visible_to(customer).count() == 0


@pytest.mark.postgres
def test_the_object_rule_runs_on_postgresql(admin_user, superadmin, customer):
    audit.record(actor=superadmin, action="accounts.login", target=superadmin)
    audit.record(actor=customer, action="accounts.login", target=customer)

    assert [e.target_id for e in AuditEvent.objects.visible_to(admin_user)] == [str(customer.pk)]


def test_the_migration_marks_the_finance_events_already_logged(transactional_db):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("audit", "0001_initial")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("audit", "AuditEvent")
        for action, details in [("billing.topped_up", {}), ("accounts.login", {}),
                                ("distribution.codes_generated", {"amount_fen": 1})]:
            old.objects.create(action=action, details=details)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert dict(AuditEvent.objects.values_list("action", "finance")) == {
        "billing.topped_up": True, "accounts.login": False, "distribution.codes_generated": True}
