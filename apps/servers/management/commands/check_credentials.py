from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from apps.servers.credentials import WHAT_TO_DO, unreadable_message, unreadable_servers
from apps.servers.models import Server


class Command(BaseCommand):
    help = _lazy("Say which server credentials no configured key can decrypt (exit status 1 if any).")

    def handle(self, *args, **options):
        names = unreadable_servers()
        for name in names:
            self.stderr.write(unreadable_message(name))
        if names:
            raise CommandError(WHAT_TO_DO)
        self.stdout.write(_("All %(count)s server credentials can be decrypted.")
                          % {"count": Server.objects.count()})
