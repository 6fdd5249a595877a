"""A system check run with the database (`check --database default`, before `migrate`): server
credentials that no configured key can decrypt. A warning, not an error: an error would stop
`migrate` and with it the whole panel, while only fleet work needs the credentials."""

from django.core import checks
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections


@checks.register(checks.Tags.database)
def server_credentials_readable(app_configs=None, databases=None, **kwargs):
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []  # Django runs database checks only when asked to touch a database
    from .credentials import WHAT_TO_DO, unreadable_message, unreadable_servers
    from .models import Server

    try:
        if Server._meta.db_table not in connections[DEFAULT_DB_ALIAS].introspection.table_names():
            return []  # not migrated yet: nothing is stored
        names = unreadable_servers()
    except DatabaseError:
        return []  # unreachable or not migrated far enough; Django's own checks say so
    return [checks.Warning(unreadable_message(name), hint=WHAT_TO_DO, obj=Server, id="servers.W001")
            for name in names]
