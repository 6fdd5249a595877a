"""The relay admission decision (derper's --verify-client-url), answered from a cache.

Every client connection to every relay asks. The answer for one relay token — which node keys
may connect and until when — is cached under the token's SHA-256 (the token itself is never a
key); any change to the user's devices, relays, rental or ACL makes the user's entries stale
(`invalidate_user`, called once the change commits). A cache hit touches no database.

Two ways to keep entries right, by cache:
- Redis (REDIS_URL set), shared by every process: each token has a generation stamp beside its
  entry, read in the same round trip; an entry counts only if it was stored under the current
  stamp, and invalidation writes a new stamp. An entry loaded from the database just before a
  change commits therefore never outlives the change.
- Without Redis, memory in each process: a change writes a new value into an 8-byte generation
  file in DATA_DIR that every process has memory-mapped (a memory read per request, no system
  call, no query); entries stored under another generation no longer count.

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
    """Entries in this process's memory. A shared 8-byte generation file (memory-mapped: reading
    it is a memory access, not a system call) says when any process changed anything; entries
    stored under an older generation no longer count."""

    MAX_ENTRIES = 100_000

    def __init__(self):
        self.entries: dict[str, tuple[float, bytes, dict]] = {}
        self.seen = b""
        self._map = None
        self._map_path = ""

    @staticmethod
    def _path() -> str:
        return os.path.join(settings.DATA_DIR, "admission.generation")

    @staticmethod
    def _open(path: str, flags: int = os.O_RDWR) -> int:
        fd = os.open(path, flags | os.O_CREAT, 0o644)
        if os.fstat(fd).st_size < 8:
            os.ftruncate(fd, 8)  # never shrinks: a concurrent writer's bytes stay
        return fd

    def _generation(self) -> bytes:
        path = self._path()
        if self._map is None or self._map_path != path:
            fd = self._open(path)
            try:
                self._map, self._map_path = mmap.mmap(fd, 8, access=mmap.ACCESS_READ), path
            finally:
                os.close(fd)
        return self._map[:8]

    def get(self, hashed: str):
        generation = self._generation()
        if generation != self.seen:  # something changed: free the memory of what went stale
            self.entries.clear()
            self.seen = generation
        found = self.entries.get(hashed)
        if found is not None and found[1] == generation and found[0] > time.monotonic():
            return found[2], generation
        return None, generation

    def put(self, hashed: str, entry: dict, stamp) -> None:
        if len(self.entries) >= self.MAX_ENTRIES:
            self.entries.clear()
        self.entries[hashed] = (time.monotonic() + ENTRY_TTL, stamp, entry)

    def invalidate(self, hashes: list[str]) -> None:
        fd = self._open(self._path())
        try:
            os.pwrite(fd, secrets.token_bytes(8), 0)  # every process's mapping sees it at once
        finally:
            os.close(fd)


_shared, _local = _SharedEntries(), _LocalEntries()


def _entries():
    return _shared if settings.REDIS_URL else _local


def _load(token: str) -> dict:
    """What the database says about one token (the cache miss path), within LOAD_TIMEOUT_MS on
    PostgreSQL (inside a caller's transaction the caller's limits stay)."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(LOAD_TIMEOUT_MS)])
            return _read(token)
    return _read(token)


def _read(token: str) -> dict:
    from apps.accounts.models import RentalState
    from apps.containers.models import DerpInstance, InstanceStatus

    from .models import AclConfig, Device

    deny = {"allow": {}, "until": 0, "instance": None}
    instance = (DerpInstance.objects.select_related("user")
                .filter(admission_token=token,
                        status__in=(InstanceStatus.RUNNING, InstanceStatus.MIGRATING)).first())
    if instance is None:
        return deny
    deny["instance"] = instance.pk
    user = instance.user
    if not user.is_active or user.rental_state != RentalState.ACTIVE or not user.rental_expiry:
        return deny
    acl = AclConfig.objects.filter(user=user).order_by("-version").only("expires_at").first()
    if acl is None:
        return deny
    keys = dict(Device.objects.filter(user=user).values_list("node_key", "pk"))
    return {"allow": keys, "until": min(acl.expires_at, user.rental_expiry).timestamp(),
            "instance": instance.pk}


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
    from apps.containers.models import DerpInstance

    tokens = DerpInstance.objects.filter(user_id=user_id).values_list("admission_token", flat=True)
    _entries().invalidate([token_hash(t) for t in tokens])


def invalidate_user_on_commit(user_id: int) -> None:
    transaction.on_commit(lambda: invalidate_user(user_id))


def invalidate_users(user_ids) -> None:
    """`invalidate_user` for many users at once (a periodic job's batch): one query, one write."""
    from apps.containers.models import DerpInstance

    tokens = DerpInstance.objects.filter(user_id__in=list(user_ids)).values_list(
        "admission_token", flat=True)
    _entries().invalidate([token_hash(t) for t in tokens])


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
