"""The key material a backup carries, and what a restore does with it."""

from dataclasses import dataclass, field

from django.conf import settings

from apps.servers import credentials, secrets_box
from apps.servers.models import Server


def key_material() -> dict:
    """The keys that read the credentials being backed up: the one that encrypts now and every
    key some credential needs; with SECRET_KEY when the key derived from it is among them."""
    every_key = secrets_box.all_keys()
    tokens = Server.objects.values_list("ssh_secret_encrypted", flat=True)
    needed = {secrets_box.key_for(token, every_key) for token in tokens} - {None}
    keys = [key for i, key in enumerate(every_key) if i == 0 or key in needed]
    derived = secrets_box.derived_key(settings.SECRET_KEY)
    return {"credentials_keys": keys, "secret_key": settings.SECRET_KEY if derived in keys else None}


@dataclass
class Readability:
    """After a restore: keys installed into the keyring, and servers still unreadable."""

    installed: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def make_readable(material: dict | None) -> Readability:
    """If this installation's keys cannot read every restored credential, install the archive's
    keys that can as decrypt-only keys (the keyring file), and say what is still unreadable."""
    unreadable = credentials.unreadable_servers()
    archive_keys = list((material or {}).get("credentials_keys") or [])
    if not unreadable or not archive_keys:
        return Readability(unreadable=unreadable)
    tokens = Server.objects.filter(name__in=unreadable) \
        .values_list("ssh_secret_encrypted", flat=True)
    useful = [key for key in archive_keys if secrets_box.is_key(key)
              and any(secrets_box.key_for(token, [key]) for token in tokens)]
    installed = secrets_box.install_keyring_keys(useful)
    return Readability(installed=installed, unreadable=credentials.unreadable_servers())
