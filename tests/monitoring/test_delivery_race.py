"""On PostgreSQL, with real concurrency: several delivery runs at once post each delivery once,
and probe runs seeing a still-open alert at once send one reminder."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.monitoring import delivery
from apps.monitoring.models import Alert, AlertDelivery, DeliveryState, MonitoringSettings

from .webhook_receiver import run_at_once, unhealthy, webhook

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("enqueued")]



def test_concurrent_delivery_runs_never_post_a_delivery_twice(transactional_db, receiver,
                                                              superadmin, make_server):
    _channel, secret = webhook(superadmin, receiver.url)
    webhook(superadmin, receiver.url.replace("team=ops", "team=noc"), name="second")
    for n in range(12):
        unhealthy(make_server(f"sh-{n}"))
    receiver.answers.extend([500] * 3)  # three first attempts fail and wait for their retry

    errors = run_at_once(8, delivery.deliver_due)
    errors += run_at_once(8, lambda: delivery.deliver_due(now=timezone.now() + timedelta(minutes=1)))

    assert errors == []
    posted = Counter((r.headers["X-Derpmgr-Delivery"], r.json["event"]) for r in receiver.received
                     if r.headers["X-Derpmgr-Delivery"])
    assert len(receiver.received) == 24 + 3
    sent = AlertDelivery.objects.filter(state=DeliveryState.SENT)
    assert sent.count() == 24
    assert all(r.signed_with(secret) for r in receiver.received if "team=ops" in r.path)
    retried = {key for key, count in posted.items() if count == 2}
    assert len(retried) == 3 and max(posted.values()) == 2  # only the failed ones went twice


def test_concurrent_probe_runs_send_one_reminder(transactional_db, receiver, superadmin,
                                                make_server):
    webhook(superadmin, receiver.url)
    MonitoringSettings.objects.update_or_create(pk=1, defaults={"repeat_notification_minutes": 5})
    server = make_server("sh-1")
    alert = unhealthy(server)
    Alert.objects.filter(pk=alert.pk).update(notified_at=timezone.now() - timedelta(minutes=6))

    errors = run_at_once(8, lambda: unhealthy(server))

    assert errors == []
    events = Counter(AlertDelivery.objects.values_list("event", flat=True))
    assert events == {"opened": 1, "repeated": 1}
    assert Alert.objects.get(pk=alert.pk).notifications == 2
