from django.db import migrations

# The seed's five plans (3, 5, 30, 180, 360 days). Prices are a starting point in fen; super
# admins change them in the admin.
PLANS = [
    ("3 天 / 3 days", 3, 600),
    ("5 天 / 5 days", 5, 900),
    ("30 天 / 30 days", 30, 3900),
    ("180 天 / 180 days", 180, 19900),
    ("360 天 / 360 days", 360, 35900),
]


def seed_plans(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for name, days, price in PLANS:
        Plan.objects.get_or_create(duration_days=days, defaults={
            "name": name, "price_fen": price, "servers_per_rental": 3, "max_devices": 10})


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(seed_plans, migrations.RunPython.noop)]
