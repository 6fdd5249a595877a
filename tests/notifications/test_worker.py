"""The outbox is drained by Celery: a real worker process runs notifications.dispatch_outbox, and
beat asks for it every minute."""

import io

from django.core import mail
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from apps.notifications import tasks
from apps.notifications.models import EmailStatus, OutboundEmail

from .support import queue_mail
from .worker_process import dispatch, start_worker


def test_a_celery_worker_process_drains_the_outbox(transactional_db, smtp_server, broker, tmp_path):
    emails = [queue_mail("alice@example.com", "for alice"), queue_mail("bob@example.com", "for bob")]

    worker = start_worker(broker, smtp_server, tmp_path / "worker.log")
    try:
        dispatch(broker)
        worker.wait_for(lambda: len(smtp_server.mailbox.delivered) == 2
                        and not OutboundEmail.objects.exclude(status=EmailStatus.SENT).exists())
    finally:
        worker.stop()

    assert sorted(m.subject for m in smtp_server.mailbox.delivered) == ["for alice", "for bob"]
    for email in emails:
        email.refresh_from_db()
        assert (email.status, email.attempts) == (EmailStatus.SENT, 1)


def test_the_task_sends_with_the_configured_backend(db):
    email = queue_mail("alice@example.com", "through the task")

    result = tasks.dispatch_outbox.apply()

    email.refresh_from_db()
    assert result.get()["sent"] == 1
    assert email.status == EmailStatus.SENT
    [message] = mail.outbox  # tests.settings' backend keeps what was sent in memory
    assert (message.to, message.subject) == (["alice@example.com"], "through the task")
    assert message.alternatives[0].mimetype == "text/html"


def test_beat_runs_the_dispatcher_every_minute(db):
    call_command("sync_schedules", stdout=io.StringIO())

    job = PeriodicTask.objects.get(task="notifications.dispatch_outbox")
    assert job.enabled
    assert (job.interval.every, job.interval.period) == (60, "seconds")
