"""Events about money are marked, so that only those who may see finance read them."""

from django.db import migrations, models


def mark_finance_events(apps, schema_editor):
    from apps.audit.visibility import is_finance

    AuditEvent = apps.get_model("audit", "AuditEvent")  # the plain manager: no append-only guard
    finance_ids = [pk for pk, action, details in
                   AuditEvent.objects.values_list("pk", "action", "details").iterator()
                   if is_finance(action, details)]
    for start in range(0, len(finance_ids), 1000):
        AuditEvent.objects.filter(pk__in=finance_ids[start:start + 1000]).update(finance=True)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="finance",
            field=models.BooleanField(default=False, editable=False, verbose_name="finance"),
        ),
        migrations.RunPython(mark_finance_events, migrations.RunPython.noop, elidable=True),
    ]
