"""destroy_all: every version and the derpMap URL of a user go; the download log stays."""

from apps.acl import services
from apps.acl.models import AclConfig, AclLog, DerpMapFeed
from apps.audit.models import AuditEvent


def test_destroy_all_removes_every_version_and_the_url(renter, relays, stranger, admin_user, anon_client):
    services.issue_version(user=stranger, reason="test")
    services.issue_version(user=renter, reason="test")
    services.issue_version(user=renter, reason="test")
    path = services.feed_url(renter).removeprefix("http://testserver")
    services.take(user=renter, access="json", ip="203.0.113.9")

    assert services.destroy_all(user=renter, actor=admin_user) == 2

    assert not AclConfig.objects.filter(user=renter).exists()
    assert not DerpMapFeed.objects.filter(user=renter).exists()
    assert AclConfig.objects.filter(user=stranger).count() == 1
    assert AclLog.objects.filter(user=renter).count() == 1
    assert anon_client.get(path).status_code == 404
    event = AuditEvent.objects.get(action="acl.destroyed")
    assert event.actor == admin_user and event.details == {"versions": 2}
