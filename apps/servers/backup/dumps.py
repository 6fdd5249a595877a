"""Dumping and loading the database itself: pg_dump -Fc / pg_restore for PostgreSQL (connection
details and password in the environment, never on a command line), SQLite's online backup API."""

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.utils.translation import gettext as _

from .archive import DUMP_FILES
from .errors import BackupError


def engine_of(connection) -> str:
    if connection.vendor not in DUMP_FILES:
        raise BackupError(_("Backups support PostgreSQL and SQLite, not %(vendor)s.")
                          % {"vendor": connection.vendor})
    return connection.vendor


def dump(connection, workdir: Path) -> Path:
    target = workdir / DUMP_FILES[engine_of(connection)]
    if connection.vendor == "postgresql":
        _run_pg(connection, "pg_dump", ["--format=custom", "--file", str(target)])
    else:
        _sqlite_copy(_sqlite_file(connection), str(target))
    return target


def load(connection, source: Path) -> None:
    """Replace the database's contents with the dump's. The caller closes its connection first."""
    if connection.vendor == "postgresql":
        _run_pg(connection, "pg_restore", [
            "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
            "--exit-on-error", "--dbname", connection.settings_dict["NAME"], str(source)])
    else:
        _check_sqlite_dump(source)
        _sqlite_copy(str(source), _sqlite_file(connection))


# --- PostgreSQL ---------------------------------------------------------------------------------

def _pg_environment(connection) -> dict:
    db = connection.settings_dict
    environment = {**os.environ, "PGDATABASE": db["NAME"]}
    for variable, value in (("PGHOST", db.get("HOST")), ("PGPORT", db.get("PORT")),
                            ("PGUSER", db.get("USER")), ("PGPASSWORD", db.get("PASSWORD")),
                            ("PGSSLMODE", (db.get("OPTIONS") or {}).get("sslmode"))):
        if value:
            environment[variable] = str(value)
    return environment


def _server_major(connection) -> int:
    connection.ensure_connection()
    return connection.pg_version // 10000


def _tool(connection, name: str) -> str:
    """The path of pg_dump / pg_restore, refused when older than the server (it would fail)."""
    major = _server_major(connection)
    path = shutil.which(name)
    if path is None:
        raise BackupError(_("%(tool)s is not installed or not on PATH. Install the PostgreSQL "
                            "client of the server's version (Debian: apt-get install "
                            "postgresql-client-%(major)s).") % {"tool": name, "major": major})
    # Fixed arguments, no shell; the tool found on PATH like psql would be.
    version = subprocess.run([path, "--version"],  # noqa: S603
                             capture_output=True, text=True, timeout=30).stdout
    found = re.search(r"(\d+)(?:\.\d+)?", version)
    if found and int(found.group(1)) < major:
        raise BackupError(_("%(tool)s is version %(found)s but the database server is version "
                            "%(major)s: install postgresql-client-%(major)s (a client older than "
                            "the server cannot dump or restore it).")
                          % {"tool": name, "found": found.group(1), "major": major})
    return path


def _run_pg(connection, name: str, arguments: list[str]) -> None:
    path = _tool(connection, name)
    finished = subprocess.run([path, *arguments], env=_pg_environment(connection),  # noqa: S603
                              capture_output=True, text=True)
    if finished.returncode != 0:
        raise BackupError(_("%(tool)s failed (exit status %(status)s): %(error)s")
                          % {"tool": name, "status": finished.returncode,
                             "error": finished.stderr.strip()[-2000:]})


# --- SQLite -------------------------------------------------------------------------------------

def _sqlite_file(connection) -> str:
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file::memory:") or "mode=memory" in name:
        raise BackupError(_("An in-memory SQLite database cannot be backed up or restored."))
    return name


def _sqlite_copy(source: str, target: str) -> None:
    """Page-by-page copy with SQLite's online backup API: consistent while others write."""
    source_db = sqlite3.connect(source, timeout=30)
    target_db = sqlite3.connect(target, timeout=30)
    try:
        source_db.backup(target_db)
    except sqlite3.Error as exc:
        raise BackupError(_("Copying the SQLite database failed: %(error)s") % {"error": exc}) from exc
    finally:
        target_db.close()
        source_db.close()


def _check_sqlite_dump(path: Path) -> None:
    db = sqlite3.connect(path)
    try:
        verdict = db.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.Error as exc:
        verdict = str(exc)
    finally:
        db.close()
    if verdict != "ok":
        raise BackupError(_("The archive's SQLite database is damaged (%(reason)s); nothing was "
                            "restored.") % {"reason": verdict})
