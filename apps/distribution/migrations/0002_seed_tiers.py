from django.db import migrations

TIERS = [
    ("gold", "黄金", "Gold", 10, 5, 1),
    ("white-gold", "白金", "White gold", 15, 8, 2),
    ("platinum", "铂金", "Platinum", 20, 10, 3),
]


def seed_tiers(apps, schema_editor):
    Tier = apps.get_model("distribution", "DistributorTier")
    for slug, name_zh, name_en, discount, commission, rank in TIERS:
        Tier.objects.get_or_create(slug=slug, defaults={
            "name_zh": name_zh, "name_en": name_en, "discount_percent": discount,
            "commission_percent": commission, "rank": rank})


class Migration(migrations.Migration):
    dependencies = [("distribution", "0001_initial")]

    operations = [migrations.RunPython(seed_tiers, migrations.RunPython.noop)]
