from django.db import migrations

# The seeded plans were named in both languages ("3 天"), which reads as a mistake on
# every page. The business's language is Chinese: the seeded names become "3 天" (a name an
# operator has changed is left as it is).
SEEDED_DAYS = (3, 5, 30, 180, 360)


def rename(apps, *, old: str, new: str):
    Plan = apps.get_model("billing", "Plan")
    for days in SEEDED_DAYS:
        Plan.objects.filter(duration_days=days, name=old.format(days=days)) \
            .update(name=new.format(days=days))


def to_chinese(apps, schema_editor):
    rename(apps, old="{days} 天 / {days} days", new="{days} 天")


def to_both(apps, schema_editor):
    rename(apps, old="{days} 天", new="{days} 天 / {days} days")


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_order_billing_order_buyer_new")]

    operations = [migrations.RunPython(to_chinese, to_both)]
