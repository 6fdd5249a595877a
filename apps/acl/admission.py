"""The relay admission decision (derper's --verify-client-url), answered from a cache.

Every client connection to every relay asks. The answer for one relay token — which node keys
may connect and until when — is cached under the token's SHA-256 (the token itself is never a
key); any change to the user's devices, relays, rental or ACL makes the user's entries stale
(`invalidate_user`, called once the change commits). A cache hit touches no database.

Two ways to keep entries right, by cache; both invalidate per token (a change to one user drops
that user's answers, nobody else's), and in both an entry is stored under the stamp read before
the database was asked, so an entry loaded just before a change commits never outlives it:
- Redis (REDIS_URL set), shared by every process: each token has a generation stamp beside its
  entry, read in the same round trip; an entry counts only if it was stored under the current
  stamp, and invalidation writes a new stamp.
- Without Redis, memory in each process: a memory-mapped file in DATA_DIR of per-bucket
  generations (bucket: from the token's hash) that invalidation rewrites; a lookup reads its
  token's bucket (a memory read, no system call, no query).

A miss is one statement (`_MissQuery`), over unique or foreign-key indexes.

When parts fail: a cache hit needs no database, so cached answers keep coming with the database
down or frozen (a miss then refuses that one device, after at most LOAD_TIMEOUT_MS on
PostgreSQL); with Redis down or frozen the database decides (README, "When parts fail").

Last-seen times (at most once a minute per device and process) and denied counts are written in
batches by a background thread, never on the request path.
"""

import atexit
import contextlib
import hashlib
import ipaddress
import json
import logging
import mmap
import os
import queue
import secrets
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Aggregate, OuterRef, Subquery, TextField
from django.utils import timezone

from derpmgr import unavailable

logger = logging.getLogger(__name__)

ENTRY_TTL = 300  # seconds; a safety net, invalidation is what keeps entries right
# A cache miss waits at most this long for a frozen PostgreSQL, then that one device is refused.
LOAD_TIMEOUT_MS = 2000
STAMP_TTL = 7 * 24 * 3600  # a stamp outlives every entry stored under it


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CacheUnavailable(Exception):
    """Redis could not be reached or did not answer in time: decide from the database."""


class _SharedEntries:
    """Entries in Redis, shared by every process, each valid under its token's stamp. One MGET per
    decision, on one client per process (Django's cache would build a client per call).

    Redis down or frozen costs a decision at most ADMISSION_REDIS_TIMEOUT (no retries), and then
    nothing for RETRY_AFTER seconds: reads fail at once and decisions come from the database.
    An invalidation Redis missed is kept and sent with this process's next round trip."""

    PREFIX = "derpmgr-admission:"
    RETRY_AFTER = 5.0

    def __init__(self):
        self._client = None
        self._pid = 0
        self._down_until = 0.0
        self._pending: set[str] = set()  # hashes whose invalidation has not reached Redis yet

    def _redis(self):
        if self._client is None or self._pid != os.getpid():  # a forked worker dials its own
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            timeout = settings.ADMISSION_REDIS_TIMEOUT
            self._client = redis.Redis.from_url(
                settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout,
                retry=Retry(NoBackoff(), 0))
            self._pid = os.getpid()
        return self._client

    @contextlib.contextmanager
    def _round_trip(self, *, unless_down: bool = True):
        """The client; a Redis error comes out as CacheUnavailable and (for `unless_down` calls)
        makes the next RETRY_AFTER seconds' calls fail at once."""
        import redis

        if unless_down and time.monotonic() < self._down_until:
            raise CacheUnavailable("Redis was unavailable moments ago")
        try:
            yield self._redis()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            if time.monotonic() >= self._down_until:
                logger.warning("admission cache (Redis) unavailable, deciding from the database: %s",
                               unavailable.describe(exc))
            self._down_until = time.monotonic() + self.RETRY_AFTER
            raise CacheUnavailable(str(exc)) from exc

    def _keys(self, hashed: str) -> tuple[str, str]:
        return f"{self.PREFIX}entry:{hashed}", f"{self.PREFIX}stamp:{hashed}"

    def get(self, hashed: str):
        with self._round_trip() as client:
            self._send_pending(client)
            raw, stamp = client.mget(self._keys(hashed))
        stamp = stamp.decode() if stamp is not None else ""
        if raw is not None:
            entry = json.loads(raw)
            if entry.get("stamp") == stamp:
                return entry, stamp
        return None, stamp

    def put(self, hashed: str, entry: dict, stamp) -> None:
        with self._round_trip() as client:
            client.set(self._keys(hashed)[0], json.dumps({**entry, "stamp": stamp}), ex=ENTRY_TTL)

    def invalidate(self, hashes: list[str]) -> None:
        self._pending.update(hashes)
        with contextlib.suppress(CacheUnavailable), self._round_trip(unless_down=False) as client:
            self._send_pending(client)

    def _send_pending(self, client) -> None:
        if not self._pending:
            return
        hashes, stamp = list(self._pending), secrets.token_hex(8)
        with client.pipeline(transaction=False) as pipe:
            for hashed in hashes:
                entry_key, stamp_key = self._keys(hashed)
                pipe.set(stamp_key, stamp, ex=STAMP_TTL)
                pipe.delete(entry_key)
            pipe.execute()
        self._pending.difference_update(hashes)


class _LocalEntries:
    """Entries in this process's memory, each valid under its bucket's generation.

    A file in DATA_DIR holds BUCKETS 8-byte generations that every process has memory-mapped
    (shared): a token's bucket comes from its hash, and invalidating a token writes fresh random
    bytes into its bucket, which every process sees at once. A lookup reads the one bucket (a
    memory read: no system call, no query) and counts an entry only if it was stored under that
    bucket's current generation — so a change drops the answers of the changed user's relays (and
    of the few tokens sharing their buckets), never anybody else's.

    Entries are stored under the generation read *before* the database was asked (as in Redis): an
    entry loaded just before a change commits is stored under the generation the change's
    invalidation then replaces, so it never outlives the change. Random generations (not counters)
    mean two processes bumping one bucket at once cannot hand a stale entry back its generation."""

    BUCKETS = 1 << 16  # 512 KiB of file; a token's bucket: the first 16 bits of its hash
    MAX_ENTRIES = 100_000

    def __init__(self):
        self.entries: dict[str, tuple[float, bytes, dict]] = {}
        self._map = None
        self._map_dir = None

    def _generations(self) -> mmap.mmap:
        data_dir = settings.DATA_DIR
        if self._map_dir is not data_dir:  # (settings.DATA_DIR is one object until changed)
            fd = os.open(os.path.join(data_dir, "admission.generations"), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if os.fstat(fd).st_size < self.BUCKETS * 8:
                    os.ftruncate(fd, self.BUCKETS * 8)  # zeros; never shrinks a writer's bytes
                self._map, self._map_dir = mmap.mmap(fd, self.BUCKETS * 8), data_dir  # shared
            finally:
                os.close(fd)
        return self._map

    @staticmethod
    def _offset(hashed: str) -> int:
        return int(hashed[:4], 16) * 8

    def get(self, hashed: str):
        offset = self._offset(hashed)
        generation = self._generations()[offset:offset + 8]
        found = self.entries.get(hashed)
        if found is not None:
            if found[1] == generation and found[0] > time.monotonic():
                return found[2], generation
            self.entries.pop(hashed, None)  # stale: free it now
        return None, generation

    def put(self, hashed: str, entry: dict, stamp) -> None:
        if len(self.entries) >= self.MAX_ENTRIES:
            self.entries.clear()
        self.entries[hashed] = (time.monotonic() + ENTRY_TTL, stamp, entry)

    def invalidate(self, hashes: list[str]) -> None:
        generations = self._generations()
        for hashed in hashes:
            offset = self._offset(hashed)
            generations[offset:offset + 8] = secrets.token_bytes(8)


_shared, _local = _SharedEntries(), _LocalEntries()


def _entries():
    return _shared if settings.REDIS_URL else _local


class _KeysToIds(Aggregate):
    """The rows' {node key: device id} as JSON text: SQLite's json_group_object, PostgreSQL's
    json_object_agg (as text, so both hand back the same thing)."""

    function = "JSON_GROUP_OBJECT"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="JSON_OBJECT_AGG",
                           template="%(function)s(%(expressions)s)::text", **extra)


class _MissQuery:
    """The miss path's one statement, one row: the live relay by its token (unique index), its
    user (primary key), the expiry of the user's newest derpMap version ((user, version) unique
    index) and the user's devices as one JSON object (user index). Built with the ORM once per
    process and database vendor, then only executed: a miss costs one round trip, not a query
    compilation.

    On PostgreSQL outside a caller's transaction, `SET LOCAL statement_timeout` rides in the same
    message (an implicit transaction of its own), so a frozen database costs a miss at most
    LOAD_TIMEOUT_MS; inside a caller's transaction the caller's limits stay."""

    _TOKEN = "\0token"  # stands for the token in the compiled parameters

    def __init__(self):
        self._compiled: dict[str, tuple] = {}

    def _compile(self, vendor: str) -> tuple:
        from apps.containers.models import DerpInstance, InstanceStatus

        from .models import AclConfig, Device

        newest = (AclConfig.objects.filter(user=OuterRef("user")).order_by("-version")
                  .values("expires_at")[:1])
        devices = (Device.objects.filter(user=OuterRef("user")).order_by().values("user")
                   .annotate(keys=_KeysToIds("node_key", "pk")).values("keys"))
        row = (DerpInstance.objects.order_by()
               .filter(admission_token=self._TOKEN,
                       status__in=(InstanceStatus.RUNNING, InstanceStatus.MIGRATING))
               .annotate(acl_until=Subquery(newest), devices=Subquery(devices))
               .values_list("pk", "user__is_active", "user__rental_state", "user__rental_expiry",
                            "acl_until", "devices"))
        compiler = row.query.get_compiler(using=row.db)
        sql, params = compiler.as_sql()
        converters = compiler.get_converters([column[0] for column in compiler.select])
        compiled = (sql, list(params), params.index(self._TOKEN), compiler, converters)
        self._compiled[vendor] = compiled
        return compiled

    def statement(self, token: str) -> tuple[str, list]:
        """The SQL and its parameters for `token`."""
        sql, params, at, *_ = self._compiled.get(connection.vendor) or self._compile(connection.vendor)
        params = params.copy()
        params[at] = token
        return sql, params

    def read(self, token: str) -> tuple | None:
        """(relay id, user active, rental state, rental expiry, newest derpMap's expiry, the user's
        {node key: device id}), or None without a live relay."""
        sql, params = self.statement(token)
        _sql, _params, _at, compiler, converters = self._compiled[connection.vendor]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql" and not connection.in_atomic_block:
                # psycopg binds on the client: both statements go in one message.
                cursor.execute(f"SET LOCAL statement_timeout = {LOAD_TIMEOUT_MS:d}; {sql}", params)
                cursor.nextset()
            else:
                cursor.execute(sql, params)
            found = cursor.fetchone()
        if found is None:
            return None
        *head, devices = next(compiler.apply_converters([found], converters)) if converters else found
        return (*head, json.loads(devices) if devices else {})


_miss_query = _MissQuery()


def _load(token: str) -> dict:
    """What the database says about one token (the cache miss path): one statement."""
    from apps.accounts.models import RentalState

    found = _miss_query.read(token)
    if found is None:
        return {"allow": {}, "until": 0, "instance": None}
    instance, is_active, rental_state, rental_expiry, acl_until, devices = found
    if not is_active or rental_state != RentalState.ACTIVE or not rental_expiry or acl_until is None:
        return {"allow": {}, "until": 0, "instance": instance}
    return {"allow": devices, "until": min(acl_until, rental_expiry).timestamp(), "instance": instance}


class _UnknownTokens:
    """Unknown tokens asked about per calling address, counted in this process's memory over a
    fixed minute (cheap, and only ever on the miss path). An address past
    ADMISSION_UNKNOWN_TOKENS_PER_MINUTE gets refusals without a query until the minute ends, so
    nobody can make the panel query the database (or fill a cache) with made-up tokens."""

    MAX_ADDRESSES = 10_000  # a spray from more addresses than this restarts the count

    def __init__(self):
        self.minute = 0
        self.counts: dict[str, int] = {}

    def _current(self) -> dict[str, int]:
        minute = int(time.monotonic() // 60)
        if minute != self.minute or len(self.counts) > self.MAX_ADDRESSES:
            self.minute, self.counts = minute, {}
        return self.counts

    def exhausted(self, peer: str | None) -> bool:
        return peer is not None and (
            self._current().get(peer, 0) >= settings.ADMISSION_UNKNOWN_TOKENS_PER_MINUTE)

    def note(self, peer: str | None) -> None:
        if peer is not None:
            counts = self._current()
            counts[peer] = counts.get(peer, 0) + 1


_unknown = _UnknownTokens()


def decide(token: str, node_key: str, source: str, peer: str | None = None) -> bool:
    """True if the relay behind `token` may admit `node_key` now. A cache hit touches no database;
    with the cache unavailable the database decides; a database error on a miss propagates (the
    view refuses that one request).

    Only answers about real relay tokens are cached: an unknown token is never stored (made-up
    tokens would fill the cache), and `peer` (the calling address) may ask about only so many of
    them a minute before it is refused without a query."""
    hashed = token_hash(token)
    entries = _entries()
    try:
        entry, stamp = entries.get(hashed)
    except CacheUnavailable:
        entry, stamp = None, None
    if entry is None:
        if _unknown.exhausted(peer):
            return False
        entry = _load(token)
        if entry["instance"] is None:
            _unknown.note(peer)
        elif stamp is not None:
            with contextlib.suppress(CacheUnavailable):
                entries.put(hashed, entry, stamp)
    device_id = entry["allow"].get(node_key)
    allowed = device_id is not None and time.time() < entry["until"]
    _recorder.note(device_id if allowed else None, entry["instance"], source)
    return allowed


def invalidate_user(user_id: int) -> None:
    """Forget every cached answer about the user's relays (call after the change commits)."""
    invalidate_users([user_id])


def invalidate_users(user_ids) -> None:
    """Forget every cached answer about these users' relays, in one query (for batches)."""
    from apps.containers.models import DerpInstance

    tokens = DerpInstance.objects.filter(user_id__in=list(user_ids)).values_list(
        "admission_token", flat=True)
    invalidate_tokens(tokens)


def invalidate_tokens(tokens) -> None:
    """Forget the cached answers about these relay tokens, and nothing else."""
    hashes = [token_hash(token) for token in tokens]
    if hashes:
        _entries().invalidate(hashes)


def invalidate_user_on_commit(user_id: int) -> None:
    transaction.on_commit(lambda: invalidate_user(user_id))


def invalidate_users_on_commit(user_ids) -> None:
    ids = list(user_ids)
    transaction.on_commit(lambda: invalidate_users(ids))


def ip_or_none(source) -> str | None:
    try:
        return str(ipaddress.ip_address(source))
    except ValueError:
        return None


class _Recorder:
    """Batches last-seen times and denied counts into the database from a background thread.

    The request only queues a tuple; a device admitted again within SEEN_EVERY seconds is not
    queued again (its last-seen time is that coarse on purpose: a relay asks on every
    connection, the panel need not write on every one)."""

    GATHER = 1.0  # seconds to gather what arrives into one write
    SEEN_EVERY = 60.0

    def __init__(self):
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self._queued_at: dict[int, float] = {}  # device id → when its last-seen was queued
        self._thread = None
        self._lock = threading.Lock()

    def note(self, device_id, instance_id, source: str) -> None:
        if device_id is not None:
            now = time.monotonic()
            if now - self._queued_at.get(device_id, -self.SEEN_EVERY) < self.SEEN_EVERY:
                return
            self._queued_at[device_id] = now
        elif instance_id is None:
            return  # an unknown token: nothing to count on
        self.queue.put((device_id, instance_id, source, timezone.now()))
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="admission-recorder",
                                                    daemon=True)
                    self._thread.start()

    def _take(self, first=None) -> list:
        batch = [] if first is None else [first]
        while True:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                return batch

    def _run(self) -> None:
        while True:
            first = self.queue.get()
            time.sleep(self.GATHER)
            try:
                self._write(self._take(first))
            finally:  # the thread's own connection: never left open between batches
                close_old_connections()
                connection.close()

    def drain(self) -> None:
        """Write what is still queued (at exit)."""
        batch = self._take()
        if batch:
            self._write(batch)

    def _write(self, batch) -> None:
        try:
            self.flush(batch)
        except Exception as exc:  # never let bookkeeping take the thread down
            if unavailable.part_down(exc) is None:
                logger.exception("could not record %d admission results", len(batch))
            else:
                logger.warning("could not record %d admission results: %s", len(batch),
                               unavailable.describe(exc))

    def flush(self, batch) -> None:
        """One batch of (device id or None, instance id or None, source, time) into the database:
        each admitted device's last connection, each relay's refused count — two statements run
        over many rows (executemany), whatever the batch's size."""
        from apps.containers.models import DerpInstance

        from .models import Device

        seen: dict[int, tuple] = {}
        denied: dict[int, int] = {}
        for device_id, instance_id, source, at in batch:
            if device_id is not None:
                if device_id not in seen or seen[device_id][0] < at:
                    seen[device_id] = (at, source)
            elif instance_id is not None:
                denied[instance_id] = denied.get(instance_id, 0) + 1
        # Names come from the models and every value is a parameter.
        quote, adapt = connection.ops.quote_name, connection.ops.adapt_datetimefield_value
        with transaction.atomic(), connection.cursor() as cursor:
            if seen:
                cursor.executemany(
                    f"UPDATE {quote(Device._meta.db_table)} SET {quote('last_seen_at')} = %s, "  # noqa: S608
                    f"{quote('last_ip')} = %s WHERE {quote('id')} = %s",
                    [(adapt(at), ip_or_none(source), pk) for pk, (at, source) in seen.items()])
            if denied:
                column = quote("denied_connections")
                cursor.executemany(
                    f"UPDATE {quote(DerpInstance._meta.db_table)} SET {column} = {column} + %s "  # noqa: S608
                    f"WHERE {quote('id')} = %s", [(count, pk) for pk, count in denied.items()])


_recorder = _Recorder()
atexit.register(_recorder.drain)
