"""How long the database may keep a process waiting: connection options for each engine.

No Django imports: settings.py calls this while settings load, and a Celery worker calls it again
with its own (longer) statement limit before it opens a connection.
"""

SQLITE_NO_LIMIT = 24 * 3600  # SQLite has no "wait forever": a day stands for it


def apply(database: dict, *, connect: float, statement: float) -> None:
    """Put the limits into `database` (one entry of DATABASES) in place.

    PostgreSQL: `connect` seconds to get a connection (libpq counts whole seconds, at least 2),
    `statement` seconds for any one statement and for any one wait on a lock (0: no limit), sent
    as startup options. A later `-c` wins, so applying again (a worker's own limit) overrides.
    SQLite: `statement` is how long a statement waits for another process's lock ("database is
    locked" afterwards)."""
    options = database.setdefault("OPTIONS", {})
    engine = database.get("ENGINE", "")
    if engine == "django.db.backends.sqlite3":
        options["timeout"] = statement if statement > 0 else SQLITE_NO_LIMIT
    elif "postgresql" in engine:
        milliseconds = max(0, int(statement * 1000))
        options["connect_timeout"] = max(1, round(connect))
        flags = f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}"
        options["options"] = f"{options.get('options', '')} {flags}".strip()
