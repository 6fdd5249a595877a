from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from apps.servers.credentials import WHAT_TO_DO, reencrypt_credentials


class Command(BaseCommand):
    help = _lazy("Encrypt every server credential again with the first CREDENTIALS_KEY entry.")

    def handle(self, *args, **options):
        report = reencrypt_credentials(actor_label="manage.py reencrypt_credentials")
        self.stdout.write(_("%(done)s of %(total)s server credentials re-encrypted with the first "
                            "key.") % {"done": report.reencrypted, "total": report.total})
        if report.unreadable:
            raise CommandError(_("No key decrypts the credentials of %(names)s; they were left as "
                                 "they are. %(what_to_do)s")
                               % {"names": ", ".join(report.unreadable), "what_to_do": WHAT_TO_DO})
