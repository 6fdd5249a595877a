"""What an archive says about the database it holds: engine, when, migration heads, code commit."""

import shutil
import subprocess

from django.conf import settings
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from .archive import DUMP_FILES, FORMAT_VERSION


def build(connection, *, keys_included: bool) -> dict:
    return {"format": FORMAT_VERSION, "engine": connection.vendor,
            "created_at": timezone.now().isoformat(), "migrations": migration_heads(connection),
            "git_commit": git_commit(), "database_file": DUMP_FILES[connection.vendor],
            "keys_included": keys_included}


def migration_heads(connection) -> dict[str, list[str]]:
    """Per app, the applied migrations no other applied migration of that app follows."""
    applied = set(MigrationRecorder(connection).applied_migrations())
    graph = MigrationLoader(connection, ignore_no_migrations=True).graph
    heads: dict[str, list[str]] = {}
    for app, name in sorted(applied):
        node = graph.node_map.get((app, name))
        children = node.children if node is not None else set()
        if not any(child in applied and child[0] == app for child in children):
            heads.setdefault(app, []).append(name)
    return heads


def unknown_migrations(manifest: dict, connection) -> list[str]:
    """Migrations the archive's database has and this code does not (a newer derpmgr made it)."""
    on_disk = MigrationLoader(connection, ignore_no_migrations=True).disk_migrations
    return [f"{app}.{name}" for app, names in sorted(manifest.get("migrations", {}).items())
            for name in names if (app, name) not in on_disk]


def pending_migrations(connection) -> int:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def git_commit() -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        finished = subprocess.run([git, "-C", str(settings.BASE_DIR), "rev-parse", "HEAD"],  # noqa: S603
                                  capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = finished.stdout.strip()
    return commit if finished.returncode == 0 and len(commit) == 40 else None
