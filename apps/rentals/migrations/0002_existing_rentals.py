"""Rentals that existed before this app get their row, due at once: the first lifecycle run
sets their schedule (and suspends those already past their end)."""

from django.db import migrations
from django.utils import timezone


def create_rentals(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Rental = apps.get_model("rentals", "Rental")
    now = timezone.now()
    Rental.objects.bulk_create(
        [Rental(user_id=pk, period=1, next_event_at=now)
         for pk in User.objects.exclude(rental_state="none").values_list("pk", flat=True)
         .iterator()], batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("rentals", "0001_initial"), ("accounts", "0004_user_deleted_at")]

    operations = [migrations.RunPython(create_rentals, migrations.RunPython.noop)]
