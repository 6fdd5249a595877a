"""Test doubles and real parts for the outbox tests (the fixtures are in conftest.py)."""

import asyncio
import dataclasses
import threading
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from django.db import connection

from apps.notifications import services
from apps.notifications.models import OutboundEmail

# A moment well away from midnight and DST changes; every clock-driven test starts here.
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class Delivered:
    to: str
    message: EmailMessage
    peer: tuple  # the client's (host, port): one per SMTP connection

    @property
    def subject(self) -> str:
        return self.message["Subject"]

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


class Mailbox:
    """aiosmtpd handler: keeps what it accepted, refuses the addresses in `refuse`, and can hold
    a reply back (`hold_next_reply`)."""

    def __init__(self):
        self.refuse: dict[str, str] = {}  # address -> SMTP reply, e.g. "550 5.1.1 no such user"
        self.holding = threading.Event()  # set once a held message is waiting for its reply
        self._hold_next = False
        self._delivered: list[Delivered] = []
        self._lock = threading.Lock()

    def hold_next_reply(self) -> None:
        """Keep the next message, as a server that has queued it for delivery would, but never
        send the client the reply to its DATA: the sender cannot tell it went through, and a
        sender that dies (or a server that goes away) now is how mail gets delivered twice."""
        with self._lock:
            self._hold_next = True

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self._delivered.extend(Delivered(rcpt.lower(), message, session.peer)
                                   for rcpt in envelope.rcpt_tos)
            hold, self._hold_next = self._hold_next, False
        if hold:
            self.holding.set()
            # Until the client's connection is lost or the server stops: both cancel this.
            await asyncio.Event().wait()
        return "250 Message accepted for delivery"

    @property
    def delivered(self) -> list[Delivered]:
        with self._lock:
            return list(self._delivered)

    def to(self, address: str) -> list[Delivered]:
        return [mail for mail in self.delivered if mail.to == address.lower()]


class SmtpServer:
    """A real SMTP server on a fixed loopback port that can go down and come back on it."""

    host = "127.0.0.1"

    def __init__(self, port: int, **smtp_options):
        self.port = port
        self.mailbox = Mailbox()
        self._smtp_options = smtp_options
        self._controller: Controller | None = None

    def start(self) -> None:
        # A stopped Controller has closed its event loop, so each start builds a new one.
        self._controller = Controller(self.mailbox, hostname=self.host, port=self.port,
                                      **self._smtp_options)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def point_django_at(settings, server: SmtpServer) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


class FakeTransport:
    """The transport interface (send/close) without a network; `fail_with` makes sends fail.

    `attempts` holds every message it was given, `sent` those it accepted."""

    def __init__(self):
        self.attempts: list[dict] = []
        self.sent: list[dict] = []
        self.fail_with: BaseException | None = None
        self.closed = 0

    def send(self, *, to: str, subject: str, body_text: str, body_html: str,
             message_id: str) -> None:
        message = {"to": to, "subject": subject, "body_text": body_text, "body_html": body_html,
                   "message_id": message_id}
        self.attempts.append(message)
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(message)

    def close(self) -> None:
        self.closed += 1


class BlockingTransport(FakeTransport):
    """A send that lasts until the test lets it end: `sending` is set once one has begun, and
    `finish` lets it go through."""

    def __init__(self):
        super().__init__()
        self.sending = threading.Event()
        self.finish = threading.Event()

    def send(self, **message) -> None:
        self.sending.set()
        if not self.finish.wait(timeout=30):
            raise AssertionError("the test never let the send finish")
        super().send(**message)


class BackgroundDispatch:
    """services.dispatch_outbox in a thread (and database connection) of its own, as another
    worker would run it; needs the transactional_db fixture to see the test's rows."""

    def __init__(self, transport=None):
        self.report: services.DispatchReport | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(transport,), daemon=True)
        self._thread.start()

    def _run(self, transport) -> None:
        try:
            self.report = services.dispatch_outbox(transport=transport)
        except BaseException as exc:
            self.error = exc
        finally:
            connection.close()

    def join(self) -> services.DispatchReport:
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the dispatcher hung"
        if self.error is not None:
            raise self.error
        return self.report


def queue_mail(to: str, subject: str = "Hello") -> OutboundEmail:
    """One admin message to `to`, rendered in English; the subject names it in the mailbox."""
    return services.send_email(to=to, template="admin-message", language="en",
                               context={"subject": subject, "message": "Body of " + subject,
                                        "user": {"username": to.split("@")[0]}})
