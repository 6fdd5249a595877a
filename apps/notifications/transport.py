"""The e-mail driver: hands one outbox row to the configured Django e-mail backend (SMTP in
production) and says whether a failure is worth retrying."""

import contextlib
import smtplib
import socket

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection


class MailError(Exception):
    """`transient`: a later try may succeed. `server_unavailable`: the server itself is down or
    refusing us, so the rest of this run's mail would fail the same way."""

    def __init__(self, message: str, *, transient: bool, server_unavailable: bool = False):
        super().__init__(message)
        self.transient = transient
        self.server_unavailable = server_unavailable


def _is_permanent_code(code) -> bool:
    try:
        return int(code) >= 500
    except (TypeError, ValueError):
        return False


def _classify(exc: Exception) -> MailError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refusals = exc.recipients.values()
        permanent = bool(refusals) and all(_is_permanent_code(code) for code, _msg in refusals)
        detail = "; ".join(f"{rcpt}: {code} {msg!r}" for rcpt, (code, msg) in exc.recipients.items())
        return MailError(f"recipient refused: {detail}", transient=not permanent)
    if isinstance(exc, smtplib.SMTPDataError):
        return MailError(f"message refused: {exc.smtp_code} {exc.smtp_error!r}",
                         transient=not _is_permanent_code(exc.smtp_code))
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # The operator fixes the credentials; the mail waits for them.
        return MailError(f"SMTP authentication failed: {exc.smtp_code}", transient=True,
                         server_unavailable=True)
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError | OSError
                  | socket.timeout):
        return MailError(f"SMTP unavailable: {type(exc).__name__}: {exc}", transient=True,
                         server_unavailable=True)
    if isinstance(exc, smtplib.SMTPException):
        return MailError(f"SMTP error: {type(exc).__name__}: {exc}", transient=True)
    if isinstance(exc, ValueError):  # an address Django refuses to put in a header
        return MailError(f"invalid message: {exc}", transient=False)
    return MailError(f"{type(exc).__name__}: {exc}", transient=True)


# Failures about one message, after which the SMTP session is still good for the next (smtplib
# resets it): a refused recipient or message, an address that cannot go in a header.
_MESSAGE_ONLY = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, ValueError)


class DjangoMailTransport:
    """Sends through settings.EMAIL_BACKEND over one connection, kept open until `close` (the
    dispatcher closes it after each batch)."""

    def __init__(self):
        self._connection = None

    def send(self, *, to: str, subject: str, body_text: str, body_html: str,
             message_id: str) -> None:
        """`message_id` is the row's own: every attempt at one row carries the same one."""
        message = EmailMultiAlternatives(subject=subject, body=body_text,
                                         from_email=settings.DEFAULT_FROM_EMAIL, to=[to],
                                         headers={"Message-ID": message_id})
        if body_html:
            message.attach_alternative(body_html, "text/html")
        try:
            if self._connection is None:
                connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
                # Opened here, the backend keeps it open across send_messages calls; left
                # closed, it would connect and log in again for every message.
                connection.open()
                self._connection = connection
            message.connection = self._connection
            message.send()
        except Exception as exc:  # every backend error is classified, none escapes unlabelled
            if not isinstance(exc, _MESSAGE_ONLY):
                self.close()
            raise _classify(exc) from exc

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail too
                self._connection.close()
            self._connection = None
