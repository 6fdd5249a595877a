"""Every server's credential at once: which ones no key can read, and re-encrypting them all with
the first CREDENTIALS_KEY (after a key rotation, or after a restore installed a backup's keys)."""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from apps.audit.services import record

from . import secrets_box
from .models import Server

WHAT_TO_DO = _(
    "Add the key that encrypted it as a further CREDENTIALS_KEY entry (the first entry stays the "
    "one that encrypts), or restore the key material (manage.py restore installs a backup's keys), "
    "or enter the credential again on the server's page; then run "
    "manage.py reencrypt_credentials.")


def unreadable_message(name: str) -> str:
    return _("The SSH credential of server %(name)s cannot be decrypted with any configured key.") \
        % {"name": name}


def unreadable_servers(*, keys: list[str] | None = None) -> list[str]:
    """Names of the servers whose credential none of `keys` (default: every key) decrypts."""
    keys = keys if keys is not None else secrets_box.all_keys()
    rows = Server.objects.order_by("name").values_list("name", "ssh_secret_encrypted")
    return [name for name, token in rows if not secrets_box.readable(token, keys)]


@dataclass
class ReencryptReport:
    total: int = 0
    reencrypted: int = 0
    unreadable: list[str] = field(default_factory=list)


@transaction.atomic
def reencrypt_credentials(*, actor=None, actor_label: str = "") -> ReencryptReport:
    """Encrypt every readable credential again with the first key, in one transaction; a
    credential no key reads is left as it is and named in the report (never its content)."""
    report = ReencryptReport()
    rows = Server.objects.select_for_update().order_by("name") \
        .values_list("pk", "name", "ssh_secret_encrypted")
    for pk, name, token in rows:
        report.total += 1
        try:
            rotated = secrets_box.rotate(token)
        except secrets_box.UnreadableSecret:
            report.unreadable.append(name)
            continue
        # update(), not save(): the server's own fields (and updated_at) have not changed.
        Server.objects.filter(pk=pk).update(ssh_secret_encrypted=rotated)
        report.reencrypted += 1
    record(actor=actor, actor_label=actor_label, action="servers.credentials_reencrypted",
           details={"servers_total": report.total, "servers_reencrypted": report.reencrypted,
                    "servers_unreadable": report.unreadable,
                    "encrypting_key_id": secrets_box.key_id(secrets_box.encrypting_key())})
    return report
