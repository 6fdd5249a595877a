"""Sampling rounds that run at once (a slow round overlapping the next) change the server once,
ask for one stop operation and mail each customer once, both ways (PostgreSQL)."""

import pytest

from apps.audit.models import AuditEvent
from apps.notifications.models import OutboundEmail
from apps.servers.models import ServerStatus
from apps.traffic import quota
from tests.commerce.races import run_together
from tests.traffic.quota_support import NOW, RESET_DAY, month_reset, quota_operations, used


@pytest.mark.postgres
def test_concurrent_rounds_change_the_server_once(transactional_db, capped, run_operations):
    server = used(capped["server"], 1.0)

    outcomes, unexpected = run_together(
        4, lambda n: quota.after_sampling(server_ids=[server.pk], now=NOW))

    assert unexpected == [] and outcomes == ["ok"] * 4
    server.refresh_from_db()
    assert server.status == ServerStatus.OVER_QUOTA
    assert AuditEvent.objects.filter(action="servers.over_quota").count() == 1
    assert len(quota_operations(server)) == 1
    assert OutboundEmail.objects.filter(template="quota-paused").count() == 2  # alice and bob
    assert AuditEvent.objects.filter(action="monitoring.alert_opened").count() == 2  # 80 %, 100 %
    run_operations()

    month_reset(server)
    outcomes, unexpected = run_together(
        4, lambda n: quota.after_sampling(server_ids=[server.pk], now=RESET_DAY))

    assert unexpected == [] and outcomes == ["ok"] * 4
    server.refresh_from_db()
    assert server.status == ServerStatus.HEALTHY
    assert AuditEvent.objects.filter(action="servers.quota_restored").count() == 1
    assert len(quota_operations(server)) == 2
    assert OutboundEmail.objects.filter(template="quota-resumed").count() == 2
