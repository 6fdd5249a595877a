import base64
import pickle

from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction
from django.utils import timezone


class AtomicDatabaseCache(DatabaseCache):
    """Django's database cache with an increment that concurrent processes cannot lose.

    The stock incr() reads, then set()s the sum: concurrent increments are lost, and set()
    also gives the key the default timeout (300 s), so a rate-limit counter for a 10-minute or
    one-hour window would vanish five minutes after its last hit. Here one transaction locks
    the row (SQLite's IMMEDIATE transactions, see settings, serialise writers; PostgreSQL
    locks it with FOR UPDATE) and rewrites its value only, leaving its expiry alone.
    """

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote_name = connection.ops.quote_name
        table = quote_name(self._table)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        now = connection.ops.adapt_datetimefield_value(timezone.now().replace(microsecond=0))
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote_name('value')} FROM {table} "  # noqa: S608 - quoted names only
                f"WHERE {quote_name('cache_key')} = %s AND {quote_name('expires')} > %s{lock}",
                [key, now],
            )
            row = cursor.fetchone()
            if row is None:
                raise ValueError(f"Key '{key}' not found")
            stored = connection.ops.process_clob(row[0])
            # The same encoding DatabaseCache writes; the table only ever holds our own values.
            value = pickle.loads(base64.b64decode(stored.encode())) + delta  # noqa: S301
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(
                f"UPDATE {table} SET {quote_name('value')} = %s "  # noqa: S608 - quoted names only
                f"WHERE {quote_name('cache_key')} = %s",
                [encoded, key],
            )
        return value
