"""A real Celery worker process posts the webhook deliveries it is sent (the message the alert's
transaction asks for once it commits), and beat asks for a delivery run every 30 seconds so that
a lost message only delays them."""

import io

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from apps.monitoring.models import AlertDelivery, DeliveryState
from tests import workers

from .webhook_receiver import unhealthy, webhook

pytestmark = pytest.mark.usefixtures("enqueued")


def test_a_celery_worker_posts_the_deliveries_it_is_sent(transactional_db, receiver, superadmin,
                                                         make_server, enqueued, celery_broker,
                                                         celery_processes, tmp_path):
    _channel, secret = webhook(superadmin, receiver.url)
    alert = unhealthy(make_server("sh-1"))
    [(task, _args, message)] = enqueued  # what the committed transaction asked Celery for
    assert task == "deliver_alerts"
    worker = workers.start_worker(celery_broker, tmp_path / "worker.log", pool="solo",
                                  MONITORING_ALLOW_PRIVATE_TARGETS="true")
    celery_processes.append(worker)

    with celery_broker.app() as app:
        app.send_task("monitoring.deliver_alerts", args=message["args"], queue=celery_broker.queue)
    worker.wait_for(lambda: AlertDelivery.objects.filter(state=DeliveryState.SENT).exists(),
                    what="the delivery sent")

    [received] = receiver.received
    assert received.signed_with(secret) and received.json["alert"]["id"] == alert.pk


def test_beat_runs_the_delivery_every_30_seconds(db):
    call_command("sync_schedules", stdout=io.StringIO())

    job = PeriodicTask.objects.get(task="monitoring.deliver_alerts")
    assert job.enabled
    assert (job.interval.every, job.interval.period) == (30, "seconds")
