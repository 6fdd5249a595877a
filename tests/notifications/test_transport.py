"""The driver says whether a failure is worth retrying: the server or its configuration may
recover (transient), a refused recipient or a malformed address will not (permanent)."""

import smtplib

import pytest

from apps.notifications.transport import _classify


@pytest.mark.parametrize("error", [
    smtplib.SMTPRecipientsRefused({"ghost@example.com": (550, b"5.1.1 no such user")}),
    smtplib.SMTPRecipientsRefused({"full@example.com": (552, b"5.2.2 mailbox full")}),
    smtplib.SMTPDataError(554, b"5.7.1 message rejected"),
    ValueError('Invalid address "bad@@example.com"'),
], ids=["550 no such user", "552 mailbox full", "554 data refused", "invalid address"])
def test_permanent_failures(error):
    assert _classify(error).transient is False


@pytest.mark.parametrize("error", [
    smtplib.SMTPRecipientsRefused({"busy@example.com": (451, b"4.3.0 try again later")}),
    smtplib.SMTPDataError(451, b"4.3.0 local error"),
    smtplib.SMTPAuthenticationError(535, b"5.7.8 authentication failed"),
    smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError("timed out"),
    OSError(101, "Network is unreachable"),
], ids=["451 recipient", "451 data", "535 auth", "disconnected", "refused", "timeout", "no route"])
def test_transient_failures(error):
    assert _classify(error).transient is True


def test_a_refusal_names_the_recipient_code_and_reason():
    error = _classify(smtplib.SMTPRecipientsRefused({"ghost@example.com": (550, b"no such user")}))

    assert str(error) == "recipient refused: ghost@example.com: 550 b'no such user'"

