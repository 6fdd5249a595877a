"""Server credentials at rest: Fernet tokens under a ring of keys.

The keys, in the order they are tried: CREDENTIALS_KEY's entries (the first one encrypts), the
decrypt-only keys that `manage.py restore` installed from a backup (the keyring file), and last
the key derived from SECRET_KEY — the only key when CREDENTIALS_KEY is unset, and still readable
after an operator sets one, so that `manage.py reencrypt_credentials` can move credentials off it.
"""

import base64
import functools
import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class UnreadableSecret(Exception):
    """The stored credential cannot be decrypted with any key this installation has."""


@functools.cache
def derived_key(secret_key: str) -> str:
    """The Fernet key derived from SECRET_KEY (what encrypts when CREDENTIALS_KEY is unset)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"derpmgr-credentials",
                   info=b"server-ssh-secrets").derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived).decode()


def key_id(key: str) -> str:
    """A short name for a key that says nothing about it (for messages and manifests)."""
    return hashlib.sha256(b"derpmgr-key-id:" + key.encode()).hexdigest()[:12]


def configured_keys() -> list[str]:
    """CREDENTIALS_KEY's entries (a list in settings; a comma-separated string is accepted too)."""
    keys = settings.CREDENTIALS_KEY
    if isinstance(keys, str):
        keys = keys.split(",")
    return [k.strip() for k in keys if k.strip()]


def keyring_path() -> Path:
    return Path(settings.CREDENTIALS_KEYRING)


def keyring_keys() -> list[str]:
    """Decrypt-only keys restored from a backup: one per line, blank lines and #comments skipped."""
    try:
        text = keyring_path().read_text()
    except FileNotFoundError:
        return []
    lines = [line.strip() for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith("#") and is_key(line)]


def is_key(text: str) -> bool:
    try:
        Fernet(text.encode())
    except ValueError:
        return False
    return True


def encrypting_key() -> str:
    configured = configured_keys()
    return configured[0] if configured else derived_key(settings.SECRET_KEY)


def all_keys() -> list[str]:
    """Every key that decrypts, the encrypting one first, each once."""
    keys = [encrypting_key(), *configured_keys(), *keyring_keys(), derived_key(settings.SECRET_KEY)]
    return list(dict.fromkeys(keys))


@functools.cache
def _ring(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _box() -> MultiFernet:
    return _ring(tuple(all_keys()))


def encrypt(plain: str) -> str:
    return _box().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _box().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise UnreadableSecret("the SSH credential cannot be decrypted with any configured key") from exc


def rotate(token: str) -> str:
    """The same credential encrypted with the first key (UnreadableSecret if no key reads it)."""
    try:
        return _box().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise UnreadableSecret("the SSH credential cannot be decrypted with any configured key") from exc


def readable(token: str, keys: list[str] | None = None) -> bool:
    """Whether one of `keys` (default: every key this installation has) decrypts `token`."""
    return key_for(token, keys if keys is not None else all_keys()) is not None


def key_for(token: str, keys: list[str]) -> str | None:
    """The first of `keys` that decrypts `token`, or None."""
    for key in keys:
        try:
            Fernet(key.encode()).decrypt(token.encode())
        except (InvalidToken, ValueError):
            continue
        return key
    return None


def install_keyring_keys(keys: list[str]) -> list[str]:
    """Add decrypt-only keys to the keyring file (created with mode 0600, replaced whole so a
    reader never sees half a file). Returns the keys that were not there yet."""
    current = keyring_keys()
    new = [key for key in dict.fromkeys(keys) if key not in current]
    if not new:
        return []
    if not all(is_key(key) for key in new):
        raise ValueError("not a Fernet key")
    path = keyring_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Decrypt-only credential keys restored from backups (see README, Backups).\n"
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(header + "".join(f"{key}\n" for key in current + new))
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return new
