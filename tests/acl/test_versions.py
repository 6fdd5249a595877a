"""Versions: a change of the user's relays publishes a new version, and a user who took an earlier
map is e-mailed to paste the new one; nothing changed, no e-mail."""

from apps.acl import services
from apps.acl.models import AclAccess, AclConfig, AclLog
from apps.containers import services as containers
from apps.containers.models import InstanceStatus
from apps.notifications.models import OutboundEmail
from tests.acl.conftest import relay


def changed_mail(user):
    return OutboundEmail.objects.filter(template="acl-changed", to=user.email)


def took(user, acl):
    AclLog.objects.create(user=user, version=acl.version, format=AclAccess.TAILSCALE)


def test_a_relay_that_starts_publishes_a_version_and_emails_who_took_the_last_one(
        renter, servers, fake_engine, django_capture_on_commit_callbacks):
    relay(renter, servers[0], engine=fake_engine)
    took(renter, services.issue_version(user=renter, reason="test"))
    pending = relay(renter, servers[1], status=InstanceStatus.PENDING)

    with django_capture_on_commit_callbacks(execute=True):
        assert containers.start_instance(instance_id=pending.pk)

    latest = services.current_acl(renter)
    assert latest.version == 2 and latest.reason == "relays_changed"
    assert len(latest.derp_map["Regions"]) == 2
    [mail] = changed_mail(renter)
    assert "version 2" in mail.body_text and "/acl/" in mail.body_text


def test_a_removed_relay_publishes_a_version_without_it(renter, relays, fake_engine, admin_user):
    for instance in relays:
        fake_engine.run_relay(instance)
    took(renter, services.issue_version(user=renter, reason="test"))

    containers.remove_instance(actor=admin_user, instance=relays[0])

    latest = services.current_acl(renter)
    codes = {r["RegionCode"] for r in latest.derp_map["Regions"].values()}
    assert f"derpmgr-{relays[0].server_id}" not in codes
    assert changed_mail(renter).count() == 1


def test_nothing_changed_means_a_new_version_but_no_email(renter, relays):
    took(renter, services.issue_version(user=renter, reason="test"))
    services.issue_version(user=renter, reason="again")
    assert AclConfig.objects.filter(user=renter).count() == 2
    assert not changed_mail(renter).exists()


def test_a_user_who_never_took_a_map_is_not_emailed(renter, relays, servers):
    services.issue_version(user=renter, reason="first")
    relays[0].status = InstanceStatus.REMOVED
    relays[0].save(update_fields=["status"])
    services.instances_changed(user=renter)
    assert services.current_acl(renter).version == 2
    assert not changed_mail(renter).exists()


def test_going_back_to_the_map_the_user_has_needs_no_email(renter, relays):
    took(renter, services.issue_version(user=renter, reason="test"))
    relays[0].status = InstanceStatus.REMOVED
    relays[0].save(update_fields=["status"])
    services.instances_changed(user=renter)
    relays[0].status = InstanceStatus.RUNNING
    relays[0].save(update_fields=["status"])
    services.instances_changed(user=renter)
    assert changed_mail(renter).count() == 1  # for the change, not for the change back


def test_stopping_a_relay_keeps_the_map(renter, relays, fake_engine, admin_user):
    fake_engine.run_relay(relays[0])
    took(renter, services.issue_version(user=renter, reason="test"))
    before = services.current_acl(renter).derp_map

    containers.stop_instance(actor=admin_user, instance=relays[0])
    services.instances_changed(user=renter)

    assert services.current_acl(renter).derp_map == before
    assert not changed_mail(renter).exists()


def test_version_numbers_never_repeat_after_destroy_all(renter, relays):
    took(renter, services.issue_version(user=renter, reason="test"))
    services.destroy_all(user=renter)
    assert services.issue_version(user=renter, reason="test").version == 2
