import os

from celery import Celery
from celery.signals import worker_init

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
