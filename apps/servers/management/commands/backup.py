from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from apps.servers.backup import BackupError, create_backup, read_passphrase


class Command(BaseCommand):
    help = _lazy("Write the database and the keys that read its server credentials into one "
                 "archive (tar.gz, mode 0600).")

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path,
                            help=_("Archive to write (default: BACKUP_DIR/derpmgr-<time>.tar.gz)."))
        parser.add_argument("--without-keys", action="store_true",
                            help=_("Leave the credential keys out of the archive."))
        parser.add_argument("--passphrase-file", type=Path,
                            help=_("Seal the archive with the passphrase in this file."))

    def handle(self, *args, output=None, without_keys=False, passphrase_file=None, **options):
        try:
            passphrase = read_passphrase(passphrase_file) if passphrase_file else None
            report = create_backup(output=output, include_keys=not without_keys,
                                   passphrase=passphrase, actor_label="manage.py backup")
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            _("Backup written to %(path)s (%(size)s bytes, %(servers)s servers), mode 0600.")
            % {"path": report.path, "size": report.size, "servers": report.servers}))
        if report.sealed:
            self.stdout.write(_("It is sealed with the passphrase: without it, it cannot be "
                                "restored."))
        if report.keys_included:
            self.stdout.write(_("It holds the keys that decrypt the server credentials: keep it "
                                "as safe as the servers themselves."))
        else:
            self.stdout.write(self.style.WARNING(_(
                "The archive holds no keys: after a restore, the server credentials in it can be "
                "read only with this installation's CREDENTIALS_KEY (or its SECRET_KEY when "
                "CREDENTIALS_KEY is unset).")))
