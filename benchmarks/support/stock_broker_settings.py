"""The project's settings with kombu's own filesystem transport (for benchmarks/queue_hop.py's
"before": polling only, messages written in place)."""

from derpmgr.settings import *  # noqa: F403

CELERY_BROKER_TRANSPORT = None
