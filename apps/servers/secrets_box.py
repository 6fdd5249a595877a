"""Server credentials at rest: Fernet with CREDENTIALS_KEY, or a key derived from SECRET_KEY."""

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class UnreadableSecret(Exception):
    """The stored credential cannot be decrypted with the current key."""


@functools.cache
def _fernet(credentials_key: str, secret_key: str) -> Fernet:
    if credentials_key:
        return Fernet(credentials_key.encode())
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"derpmgr-credentials",
                   info=b"server-ssh-secrets").derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _box() -> Fernet:
    return _fernet(settings.CREDENTIALS_KEY, settings.SECRET_KEY)


def encrypt(plain: str) -> str:
    return _box().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _box().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise UnreadableSecret("the SSH credential cannot be decrypted with this key") from exc
