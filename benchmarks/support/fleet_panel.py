"""A panel for the fleet benchmarks: embedded settings against the loopback test fleet (the
tests/fleet helpers), a database of the benchmark's own, migrated, with noisy loggers quiet."""

import logging
import os
from pathlib import Path

from tests.fleet import infra


def configure(work: Path, image: str, database_url: str, *, quiet: tuple[str, ...] = ()) -> None:
    os.environ.update({
        "DERPMGR_ENV": "embedded", "DERPMGR_DATA_DIR": str(work / "data"),
        "DATABASE_URL": database_url, "DERP_IMAGE": image,
        "DOCKER_DIAL_COMMAND": infra.DIAL_COMMAND, "PANEL_ID": f"bench-{os.getpid()}",
        "EMAIL_URL": "consolemail://", "SECRET_KEY": "benchmark-only-" + "x" * 40,
        "SSH_CONNECT_TIMEOUT": "5",
    })
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "derpmgr.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for noisy in ("paramiko", "kombu", "asyncio", *quiet):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
