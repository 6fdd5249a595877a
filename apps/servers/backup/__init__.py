"""Backing up and restoring the whole panel: the database and the keys that read the server
credentials in it, in one archive. `manage.py backup` and `manage.py restore` call these."""

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import record
from apps.servers import secrets_box
from apps.servers.models import Server

from . import archive, dumps, keys, manifest
from .errors import BackupError
from .sealing import read_passphrase

__all__ = ["BackupError", "BackupReport", "RestoreReport", "create_backup", "read_passphrase",
           "restore_backup"]


@dataclass
class BackupReport:
    path: Path
    size: int
    servers: int
    keys_included: bool
    sealed: bool


@dataclass
class RestoreReport:
    manifest: dict
    servers: int
    archive_had_keys: bool
    keyring: Path
    keys_installed: int = 0
    unreadable: list[str] = field(default_factory=list)
    pending_migrations: int = 0


def default_output() -> Path:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%SZ")
    return Path(settings.BACKUP_DIR) / f"derpmgr-{stamp}.tar.gz"


def create_backup(*, output: Path | None = None, include_keys: bool = True,
                  passphrase: str | None = None, using: str = DEFAULT_DB_ALIAS,
                  actor_label: str = "") -> BackupReport:
    """Dump the database into a new archive at `output` (mode 0600); never replaces a file."""
    connection = connections[using]
    dumps.engine_of(connection)
    output = Path(output) if output else default_output()
    if output.exists():
        raise BackupError(_("%(path)s exists already; choose another --output.") % {"path": output})
    with tempfile.TemporaryDirectory(prefix="derpmgr-backup-") as workdir:
        dump = dumps.dump(connection, Path(workdir))
        material = keys.key_material() if include_keys else None
        archive.write(output, manifest=manifest.build(connection, keys_included=include_keys),
                      dump=dump, keys=material, passphrase=passphrase)
    servers = Server.objects.using(using).count()
    record(actor=None, actor_label=actor_label, action="servers.backup_created",
           details={"path": str(output), "engine": connection.vendor, "servers": servers,
                    "keys_included": include_keys, "sealed": bool(passphrase)})
    return BackupReport(path=output, size=output.stat().st_size, servers=servers,
                        keys_included=include_keys, sealed=bool(passphrase))


def restore_backup(*, path: Path, force: bool = False, passphrase: str | None = None,
                   using: str = DEFAULT_DB_ALIAS, actor_label: str = "") -> RestoreReport:
    """Replace the database with the archive's, then make its server credentials readable."""
    connection = connections[using]
    engine = dumps.engine_of(connection)
    with tempfile.TemporaryDirectory(prefix="derpmgr-restore-") as workdir:
        contents = archive.read(Path(path), Path(workdir), passphrase=passphrase)
        _check_fits(contents.manifest, connection, engine)
        occupied = [] if force else _occupied_tables(connection)
        if occupied:
            raise BackupError(_("The database is not empty (%(tables)s have rows): restoring "
                                "replaces everything in it. Add --force to go ahead.")
                              % {"tables": ", ".join(occupied)})
        connection.close()
        dumps.load(connection, contents.dump)
    connection.close()
    readability = keys.make_readable(contents.keys)
    report = RestoreReport(manifest=contents.manifest, servers=Server.objects.using(using).count(),
                           archive_had_keys=contents.keys is not None,
                           keyring=secrets_box.keyring_path(),
                           keys_installed=len(readability.installed),
                           unreadable=readability.unreadable,
                           pending_migrations=manifest.pending_migrations(connection))
    record(actor=None, actor_label=actor_label, action="servers.backup_restored",
           details={"archive": Path(path).name, "archive_created_at": report.manifest["created_at"],
                    "engine": engine, "servers": report.servers,
                    "keys_installed_count": report.keys_installed,
                    "servers_unreadable": report.unreadable})
    return report


def _check_fits(found: dict, connection, engine: str) -> None:
    if found["engine"] != engine:
        names = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
        raise BackupError(_("The archive holds a %(archive)s database but this installation uses "
                            "%(current)s; restore it into %(archive)s (DATABASE_URL).")
                          % {"archive": names[found["engine"]], "current": names[engine]})
    unknown = manifest.unknown_migrations(found, connection)
    if unknown:
        raise BackupError(_("The archive was made by a newer derpmgr (commit %(commit)s): its "
                            "database has migrations this code lacks (%(migrations)s). Update "
                            "the code first.")
                          % {"commit": found.get("git_commit") or "?",
                             "migrations": ", ".join(unknown)})


def _occupied_tables(connection) -> list[str]:
    """The project's models with rows in the database (tables not created yet count as empty)."""
    existing = set(connection.introspection.table_names())
    return [model._meta.label for model in apps.get_models()
            if model.__module__.startswith("apps.") and model._meta.db_table in existing
            and model._base_manager.using(connection.alias).exists()]
