import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "derpmgr.settings")

app = Celery("derpmgr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
