"""gunicorn settings of the web and admission servers (scripts/run.sh, Dockerfile,
docker-compose.yml: `gunicorn -c python:derpmgr.gunicorn_conf …`); bind, workers and threads
stay on the command line. Chosen by benchmarks/serving.py (see benchmarks/README.md).

preload_app: Django and the project are imported once, in the master, and the workers are forked
from it: they share those pages instead of each importing its own copy. Forking is only safe
while the master holds no database connection, socket or thread — nothing opens one at import
(connections open on a request's first query; the admission counters' and recorder's threads
start on the first admission), and pre_fork makes sure no connection is inherited anyway.
gc.freeze: the objects imported so far are left out of the collector's passes, which would
otherwise write to (and so copy) every shared page in each worker.
gthread: a request waiting on the database, a slow export or a relay's admission miss holds one
thread, not the whole worker; keep-alive connections are served.
"""

import gc

preload_app = True
worker_class = "gthread"


def pre_fork(server, worker):
    from django.db import connections

    connections.close_all()
    gc.freeze()
