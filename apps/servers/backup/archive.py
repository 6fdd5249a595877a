"""The backup archive: a tar.gz (mode 0600) holding a manifest, the database dump and, unless left
out, the keys that decrypt the server credentials in that dump.

    manifest.json   {"format": 1, "engine", "created_at", "migrations": {app: [heads]},
                     "git_commit", "database_file", "keys_included"}
    database.pgdump / database.sqlite3
    keys.json       {"credentials_keys": [...], "secret_key": ... or null}

Sealed with a passphrase, the same tar.gz is encrypted whole (sealing.py).
"""

import io
import json
import os
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from . import sealing
from .errors import BackupError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
KEYS = "keys.json"
DUMP_FILES = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
_UNREADABLE = (tarfile.TarError, OSError, EOFError, zlib.error, ValueError, KeyError, TypeError,
               AttributeError)


@dataclass
class Contents:
    manifest: dict
    dump: Path
    keys: dict | None


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    tar.addfile(info, io.BytesIO(data))


def write(path: Path, *, manifest: dict, dump: Path, keys: dict | None,
          passphrase: str | None = None) -> None:
    """Write the archive whole under a temporary name (mkstemp: mode 0600), then link it into
    place: a crash leaves no half archive, and an existing file is never replaced. With a
    passphrase the whole archive is sealed (see sealing.py)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as raw:
            tar_target = io.BytesIO() if passphrase else raw
            with tarfile.open(fileobj=tar_target, mode="w:gz") as tar:
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
                tar.add(dump, arcname=manifest["database_file"], filter=_private)
                if keys is not None:
                    _add_bytes(tar, KEYS, json.dumps(keys, indent=2).encode())
            if passphrase:
                raw.write(sealing.seal(tar_target.getvalue(), passphrase))
            raw.flush()
            os.fsync(raw.fileno())
        os.link(temporary, path)
    except FileExistsError:
        raise BackupError(_("%(path)s exists already; choose another --output.")
                          % {"path": path}) from None
    finally:
        Path(temporary).unlink(missing_ok=True)


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


def read(path: Path, workdir: Path, *, passphrase: str | None = None) -> Contents:
    """The manifest, the dump (copied into `workdir`) and the keys, each checked before use."""
    if not path.is_file():
        raise BackupError(_("%(path)s does not exist or is not a file.") % {"path": path})
    shown = path
    if sealing.is_sealed(path):
        path = sealing.unseal(path, passphrase, workdir / "unsealed.tar.gz")
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            manifest = json.loads(tar.extractfile(MANIFEST).read())
            _check_format(manifest)
            dump = workdir / DUMP_FILES[manifest["engine"]]
            with tar.extractfile(manifest["database_file"]) as source, open(dump, "wb") as target:
                while chunk := source.read(1 << 20):
                    target.write(chunk)
            names = tar.getnames()
            keys = json.loads(tar.extractfile(KEYS).read()) if KEYS in names else None
    except BackupError:
        raise
    except _UNREADABLE as exc:
        raise BackupError(_("%(path)s is not a readable derpmgr backup (%(reason)s).")
                          % {"path": shown, "reason": str(exc) or type(exc).__name__}) from exc
    return Contents(manifest=manifest, dump=dump, keys=keys)


def _check_format(manifest: dict) -> None:
    version = manifest.get("format") if isinstance(manifest, dict) else None
    if version != FORMAT_VERSION:
        raise BackupError(_("The archive is in backup format %(found)s; this derpmgr reads format "
                            "%(expected)s.") % {"found": version, "expected": FORMAT_VERSION})
    if manifest.get("engine") not in DUMP_FILES or \
            manifest.get("database_file") != DUMP_FILES[manifest["engine"]]:
        raise BackupError(_("The archive's manifest names no database dump this derpmgr knows."))
