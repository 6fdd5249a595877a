import contextlib
import os

from celery import Celery
from celery.signals import beat_embedded_init, task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "derpmgr.settings")

app = Celery("derpmgr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def longer_statements_in_workers(**_kwargs) -> None:
    """Tasks may run longer statements than pages: a worker's connections get
    WORKER_DATABASE_STATEMENT_TIMEOUT instead of DATABASE_STATEMENT_TIMEOUT (set before the pool
    forks, so every child inherits it)."""
    from django.conf import settings
    from django.db import connections

    from derpmgr import db_timeouts

    default = connections["default"]
    db_timeouts.apply(default.settings_dict, connect=settings.DATABASE_CONNECT_TIMEOUT,
                      statement=settings.WORKER_DATABASE_STATEMENT_TIMEOUT)
    default.close()  # a connection opened before now keeps the web limit


@task_prerun.connect
@task_postrun.connect
def connections_kept_as_between_requests(sender=None, **_kwargs) -> None:
    """Around each task, what Django does around each request: a connection that had errors or
    outlived DATABASE_CONN_MAX_AGE is closed, and a kept one is health-checked before the task's
    first query (CELERY_DB_REUSE_MAX keeps Celery from closing it after every task). Not for
    eager tasks: they run inside the caller's request or transaction."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@beat_embedded_init.connect
def forget_inherited_connections(**_kwargs) -> None:
    """Embedded beat (`worker -B`) is a process forked from the worker: a connection it inherited
    is the parent's socket, so it is dropped without a word to the database (closing it properly
    would end the parent's session too); beat opens its own. Pool processes get the same from
    Celery's Django fixup."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            with contextlib.suppress(AttributeError, OSError, TypeError, ValueError):
                os.close(connection.connection.fileno())
            with contextlib.suppress(Exception):  # the closed socket's error is expected here
                connection.close()
        connection.connection = None
