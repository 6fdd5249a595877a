"""The outbox's bodies sealed at rest (existing rows too): they carry links that grant access."""

from django.db import migrations, models


def seal_existing_bodies(apps, schema_editor):
    from apps.notifications.models import seal

    OutboundEmail = apps.get_model("notifications", "OutboundEmail")
    rows = OutboundEmail.objects.values_list("pk", "body_text_sealed", "body_html_sealed")
    for pk, text, html in rows.iterator():
        OutboundEmail.objects.filter(pk=pk).update(body_text_sealed=seal(text),
                                                   body_html_sealed=seal(html))


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0002_message_id_and_claim_token"),
    ]

    operations = [
        migrations.RenameField("outboundemail", "body_text", "body_text_sealed"),
        migrations.RenameField("outboundemail", "body_html", "body_html_sealed"),
        migrations.AlterField("outboundemail", "body_text_sealed",
                              models.TextField(editable=False)),
        migrations.AlterField("outboundemail", "body_html_sealed",
                              models.TextField(blank=True, editable=False)),
        migrations.RunPython(seal_existing_bodies, migrations.RunPython.noop, elidable=True),
    ]
