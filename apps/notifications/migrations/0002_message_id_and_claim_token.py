"""Every outbox row gets a Message-ID of its own (existing rows too) and a claim token."""

from django.db import migrations, models

from apps.notifications.models import new_message_id


def give_existing_rows_a_message_id(apps, schema_editor):
    OutboundEmail = apps.get_model("notifications", "OutboundEmail")
    for pk in OutboundEmail.objects.filter(message_id__isnull=True).values_list("pk", flat=True):
        OutboundEmail.objects.filter(pk=pk).update(message_id=new_message_id())


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundemail",
            name="claim_token",
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        # Nullable first: one default computed for the whole table would repeat on every row.
        migrations.AddField(
            model_name="outboundemail",
            name="message_id",
            field=models.CharField(editable=False, max_length=255, null=True,
                                   verbose_name="Message-ID"),
        ),
        migrations.RunPython(give_existing_rows_a_message_id, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="outboundemail",
            name="message_id",
            field=models.CharField(default=new_message_id,
                                   editable=False, max_length=255, unique=True,
                                   verbose_name="Message-ID"),
        ),
    ]
