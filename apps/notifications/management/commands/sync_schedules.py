from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from derpmgr.schedules import DEFAULT_SCHEDULES


def _interval(seconds: int) -> IntervalSchedule:
    # Not get_or_create: nothing makes (every, period) unique, and the admin adds duplicates.
    interval = IntervalSchedule.objects.filter(every=seconds, period=IntervalSchedule.SECONDS) \
        .order_by("pk").first()
    return interval or IntervalSchedule.objects.create(every=seconds, period=IntervalSchedule.SECONDS)


class Command(BaseCommand):
    help = "Create the default periodic jobs in the beat database (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true",
                            help="Also restore existing jobs to their defaults.")

    @transaction.atomic
    def handle(self, *args, reset=False, **options):
        for name, spec in DEFAULT_SCHEDULES.items():
            job = PeriodicTask.objects.select_for_update().filter(name=name).first()
            if job is not None and not reset:
                self.stdout.write(f"kept: {name}")
                continue
            # The whole schedule, so that a job an operator moved to a crontab (or a one-off)
            # comes back as the plain interval job; beat refuses a job with two schedules.
            defaults = {"task": spec["task"], "interval": _interval(spec["every_seconds"]),
                        "crontab": None, "solar": None, "clocked": None, "one_off": False,
                        "start_time": None, "expires": None, "expire_seconds": None,
                        "args": "[]", "kwargs": "{}", "description": spec["description"],
                        "enabled": True}
            if job is None:
                PeriodicTask.objects.create(name=name, **defaults)
                self.stdout.write(f"created: {name}")
            else:
                for field, value in defaults.items():
                    setattr(job, field, value)
                job.save()
                self.stdout.write(f"reset: {name}")
