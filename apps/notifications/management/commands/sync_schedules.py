from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from derpmgr.schedules import DEFAULT_SCHEDULES


class Command(BaseCommand):
    help = "Create the default periodic jobs in the beat database (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true",
                            help="Also restore existing jobs to their defaults.")

    @transaction.atomic
    def handle(self, *args, reset=False, **options):
        for name, spec in DEFAULT_SCHEDULES.items():
            interval, _created = IntervalSchedule.objects.get_or_create(
                every=spec["every_seconds"], period=IntervalSchedule.SECONDS)
            defaults = {"task": spec["task"], "interval": interval,
                        "description": spec["description"], "enabled": True}
            job = PeriodicTask.objects.filter(name=name).first()
            if job is None:
                PeriodicTask.objects.create(name=name, **defaults)
                self.stdout.write(f"created: {name}")
            elif reset:
                for field, value in defaults.items():
                    setattr(job, field, value)
                job.save()
                self.stdout.write(f"reset: {name}")
