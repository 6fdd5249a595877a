"""The Celery app finds the project's tasks and schedules them from the database."""

from django.conf import settings

from derpmgr.celery import app


def test_the_app_discovers_the_outbox_task():
    app.loader.import_default_modules()
    assert "notifications.dispatch_outbox" in app.tasks


def test_beat_reads_its_schedule_from_the_database():
    assert settings.CELERY_BEAT_SCHEDULER == "django_celery_beat.schedulers:DatabaseScheduler"
    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
