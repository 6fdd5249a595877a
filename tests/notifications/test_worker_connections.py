"""A Celery worker keeps its database connection from task to task, as the web server does from
request to request (DATABASE_CONN_MAX_AGE), and a connection the database ended is replaced
before the next task's first query (DATABASE_CONN_HEALTH_CHECKS): that task still runs."""

import pytest
from django.db import connection

from apps.notifications.models import EmailStatus, OutboundEmail
from tests.fleet.infra import wait_for

from .support import queue_mail
from .worker_process import dispatch, start_worker


def worker_sessions() -> list[tuple[int, object]]:
    """(pid, start) of every session on the test database but this test's own."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE datname = "
                       "current_database() AND pid <> pg_backend_pid() "
                       "AND backend_type = 'client backend' ORDER BY pid")
        return cursor.fetchall()


def send_one(worker, broker, smtp_server, subject: str) -> None:
    email = queue_mail(f"{subject}@example.com", subject)
    dispatch(broker)
    worker.wait_for(lambda: OutboundEmail.objects.filter(pk=email.pk, status=EmailStatus.SENT).exists()
                    and subject in [m.subject for m in smtp_server.mailbox.delivered],
                    what=f"the mail {subject!r} sent")


@pytest.mark.postgres
def test_a_worker_reuses_its_connection_and_replaces_a_dropped_one(transactional_db, smtp_server,
                                                                   broker, tmp_path):
    worker = start_worker(broker, smtp_server, tmp_path / "worker.log")  # solo: tasks in one process
    try:
        send_one(worker, broker, smtp_server, "first")
        (kept,) = wait_for(lambda: len(found := worker_sessions()) == 1 and found, timeout=10,
                           what="one session left after the task")

        send_one(worker, broker, smtp_server, "second")
        assert worker_sessions() == [kept]  # the same session (pid and start) ran the second task

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [kept[0]])
        wait_for(lambda: kept not in worker_sessions(), timeout=10, what="the session to end")

        send_one(worker, broker, smtp_server, "third")
        (replacement,) = worker_sessions()
        assert replacement[0] != kept[0]
    finally:
        worker.stop()
    assert "Traceback" not in worker.log()
