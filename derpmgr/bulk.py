"""Writing many new rows at once, for periodic jobs that write thousands.

Django's `bulk_create` sends the rows of one statement on PostgreSQL as arrays (`UNNEST`), and
quoting JSON text into an array element costs about as much as a round trip per row (a derpMap
is a few hundred quotes to escape). `insert_rows` sends one plain parametrised INSERT per row in
one batch instead (`executemany`: psycopg pipelines it, SQLite loops in C), with each value
prepared by its field as `save` would.
"""

from django.db import connections, router


def insert_rows(model, objs, fields: list[str]) -> int:
    """INSERT `objs` (unsaved, defaults applied) with the values of `fields`; no ids come back."""
    if not objs:
        return 0
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    columns = [model._meta.get_field(name) for name in fields]
    # Names from the model's own meta, quoted; every value goes as a parameter.
    statement = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(model._meta.db_table), ", ".join(quote(field.column) for field in columns),
        ", ".join(["%s"] * len(columns)))
    rows = [[field.get_db_prep_save(getattr(obj, field.attname), connection) for field in columns]
            for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(statement, rows)
    return len(rows)
