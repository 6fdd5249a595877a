"""Archives sealed with a passphrase (backup --passphrase-file): the whole tar.gz encrypted with a
Fernet key derived from the passphrase by scrypt, behind a marker line and the salt."""

import base64
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.utils.translation import gettext as _

from .errors import BackupError

MARKER = b"derpmgr sealed backup 1\n"
_SALT_BYTES = 16


def read_passphrase(path: Path) -> str:
    try:
        passphrase = Path(path).read_text().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(_("The passphrase file %(path)s cannot be read (%(reason)s).")
                          % {"path": path, "reason": exc.__class__.__name__}) from exc
    if not passphrase:
        raise BackupError(_("The passphrase file %(path)s is empty.") % {"path": path})
    return passphrase


def _fernet(passphrase: str, salt: bytes) -> Fernet:
    key = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(data: bytes, passphrase: str) -> bytes:
    salt = os.urandom(_SALT_BYTES)
    return MARKER + salt + _fernet(passphrase, salt).encrypt(data)


def is_sealed(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(MARKER)) == MARKER


def unseal(path: Path, passphrase: str | None, target: Path) -> Path:
    """The archive inside a sealed file, written to `target` (mode 0600)."""
    if passphrase is None:
        raise BackupError(_("%(path)s is sealed with a passphrase: give --passphrase-file.")
                          % {"path": path})
    sealed = Path(path).read_bytes()[len(MARKER):]
    salt, token = sealed[:_SALT_BYTES], sealed[_SALT_BYTES:]
    try:
        data = _fernet(passphrase, salt).decrypt(token)
    except InvalidToken:
        raise BackupError(_("The passphrase does not open %(path)s.") % {"path": path}) from None
    with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(data)
    return target
