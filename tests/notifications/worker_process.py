"""A real Celery worker process draining the outbox into a real SMTP server (tests/workers.py
starts and kills it)."""

from pathlib import Path

from tests import workers


def start_worker(broker: workers.Broker, smtp_server, log_path: Path,
                 **env_overrides) -> workers.CeleryProcess:
    return workers.start_worker(
        broker, log_path, pool="solo", EMAIL_URL=None,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST=smtp_server.host, EMAIL_PORT=smtp_server.port, EMAIL_USE_TLS="false",
        EMAIL_USE_SSL="false", **env_overrides)


def dispatch(broker: workers.Broker) -> None:
    """Ask the worker for a dispatch run now."""
    with broker.app() as app:
        app.send_task("notifications.dispatch_outbox_now", queue=broker.queue)
