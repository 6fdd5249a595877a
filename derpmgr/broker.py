"""kombu's filesystem transport (the embedded broker): each message put in place whole, and an
idle worker woken by its arrival instead of finding it at its next poll.

Put whole: kombu creates a message's file under its final name and then writes it, so a worker
that lists the folder in between can take the file empty, fail to decode it and lose the task (a
task went missing once in 20 with kombu's transport polling every 20 ms on a loaded machine; the
faster the polling, the likelier). Here the message is written under a name no queue matches and
then renamed into place (atomic within one folder): a worker sees no file or the whole message.

Woken: kombu's idle worker sleeps its polling interval between looks at the folder, so a task
waits up to that long (0.06-0.9 s between queueing and a worker taking it with the 0.2 s interval
used before, and every look lists the folder). Here an idle worker waits on inotify for a message
to land in the folder (renamed in, or written by a sender without this transport) and is woken at
once; without inotify (not Linux), or while every pool slot is busy (a slot freed makes no event),
it looks every FILESYSTEM_BROKER_POLLING_INTERVAL, as kombu does. An idle worker also looks once a
second in any case, in case an event was missed.
Selected by settings.CELERY_BROKER_TRANSPORT when CELERY_BROKER_URL is filesystem://.
"""

import contextlib
import ctypes
import ctypes.util
import os
import select
import time
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.transport.virtual import Empty
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.rename(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Arrivals:
    """Waits until a file is renamed into or written in `folder` (inotify), or `seconds` pass."""

    EVENTS = 0x80 | 0x08  # IN_MOVED_TO, IN_CLOSE_WRITE

    def __init__(self, folder: str):
        self.fd = -1
        libc_name = ctypes.util.find_library("c")
        libc = ctypes.CDLL(libc_name, use_errno=True) if libc_name else None
        if libc is None or not hasattr(libc, "inotify_init1"):
            return  # not Linux: plain polling
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd >= 0 and libc.inotify_add_watch(fd, os.fsencode(folder), self.EVENTS) >= 0:
            self.fd = fd
        elif fd >= 0:
            os.close(fd)

    def wait(self, seconds: float) -> None:
        if self.fd < 0:
            time.sleep(seconds)
            return
        if select.select([self.fd], [], [], seconds)[0]:
            with contextlib.suppress(BlockingIOError):
                while os.read(self.fd, 65536):  # every pending event: one wake-up serves them all
                    pass

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1


class Transport(filesystem.Transport):
    Channel = Channel
    IDLE_LOOK_SECONDS = 1.0
    _arrivals = None

    def _next_look(self, remaining: float | None) -> float:
        """Seconds until the next look: the polling interval while a consumer cannot take more
        (or without inotify), else until the next arrival (at most IDLE_LOOK_SECONDS)."""
        blocked = any(channel._consumers and not channel.qos.can_consume() for channel in self.channels)
        seconds = self.polling_interval if blocked or self._arrivals.fd < 0 else self.IDLE_LOOK_SECONDS
        return seconds if remaining is None else min(seconds, remaining)

    def drain_events(self, connection, timeout=None):
        """kombu's loop (virtual.Transport.drain_events) with the sleep between looks replaced by
        a wait for the next arrival."""
        if self._arrivals is None or self._arrivals_pid != os.getpid():
            folder = self.client.transport_options.get("data_folder_in", "data_in")
            self._arrivals, self._arrivals_pid = Arrivals(folder), os.getpid()
        started = monotonic()
        while True:
            try:
                self.cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                waited = monotonic() - started
                if timeout is not None and waited >= timeout:
                    raise TimeoutError() from None
                self._arrivals.wait(self._next_look(None if timeout is None else timeout - waited))

    def close_connection(self, connection):
        if self._arrivals is not None:
            self._arrivals.close()
            self._arrivals = None
        super().close_connection(connection)
