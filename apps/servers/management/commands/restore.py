from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from apps.servers.backup import BackupError, read_passphrase, restore_backup


class Command(BaseCommand):
    help = _lazy("Replace the database with a backup archive's and make its server "
                 "credentials readable. Stop the web server and the worker first.")

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help=_("Archive written by manage.py backup."))
        parser.add_argument("--force", action="store_true",
                            help=_("Restore even though the database holds data (it is replaced)."))
        parser.add_argument("--passphrase-file", type=Path,
                            help=_("The passphrase of a sealed archive, in this file."))

    def handle(self, *args, path, force=False, passphrase_file=None, **options):
        try:
            passphrase = read_passphrase(passphrase_file) if passphrase_file else None
            report = restore_backup(path=path, force=force, passphrase=passphrase,
                                    actor_label="manage.py restore")
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            _("Restored the %(engine)s database of %(created)s (%(servers)s servers).")
            % {"engine": report.manifest["engine"], "created": report.manifest["created_at"],
               "servers": report.servers}))
        if report.pending_migrations:
            self.stdout.write(self.style.WARNING(
                _("The archive predates this code: run manage.py migrate (%(count)s migrations "
                  "to apply).") % {"count": report.pending_migrations}))
        if report.keys_installed:
            self.stdout.write(self.style.WARNING(
                _("This installation's keys could not read the restored credentials: %(count)s "
                  "key(s) from the archive were installed as decrypt-only keys in %(keyring)s "
                  "(mode 0600). Run manage.py reencrypt_credentials to encrypt the credentials "
                  "with CREDENTIALS_KEY.") % {"count": report.keys_installed,
                                              "keyring": report.keyring}))
        if report.unreadable:
            raise CommandError(self._why_unreadable(report))
        self.stdout.write(_("Every server credential can be decrypted."))

    def _why_unreadable(self, report) -> str:
        names = ", ".join(report.unreadable)
        if not report.archive_had_keys:
            return _("The credentials of %(names)s cannot be decrypted: the archive was made "
                     "without its keys. Add the CREDENTIALS_KEY of the installation that made it "
                     "as a further CREDENTIALS_KEY entry (or set its SECRET_KEY if it had no "
                     "CREDENTIALS_KEY), or enter those credentials again.") % {"names": names}
        return _("The credentials of %(names)s cannot be decrypted, not even with the archive's "
                 "keys: they were unreadable when the backup was made. Enter those credentials "
                 "again.") % {"names": names}
