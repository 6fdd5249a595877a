"""Test doubles and real parts for the outbox tests (the fixtures are in conftest.py)."""

import dataclasses
import threading
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

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
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


class Mailbox:
    """aiosmtpd handler: keeps what it accepted, refuses the addresses in `refuse`."""

    def __init__(self):
        self.refuse: dict[str, str] = {}  # address -> SMTP reply, e.g. "550 5.1.1 no such user"
        self._delivered: list[Delivered] = []
        self._lock = threading.Lock()

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


def queue_mail(to: str, subject: str = "Hello") -> OutboundEmail:
    """One admin message to `to`, rendered in English; the subject names it in the mailbox."""
    return services.send_email(to=to, template="admin-message", language="en",
                               context={"subject": subject, "message": "Body of " + subject,
                                        "user": {"username": to.split("@")[0]}})
