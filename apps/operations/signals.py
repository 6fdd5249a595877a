"""A worker that starts sends on what its predecessor left (killed workers leave leases)."""

import logging

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@worker_ready.connect
def sweep_on_start(**_kwargs):
    from . import services

    try:
        services.sweep()
    except Exception:  # a database not reachable yet: the periodic sweep comes soon enough
        logger.warning("the start-up sweep failed; the periodic one will run", exc_info=True)
