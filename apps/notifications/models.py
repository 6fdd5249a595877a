from email.utils import make_msgid, parseaddr
from urllib.parse import urlparse

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EmailStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DEFERRED = "deferred", _("Deferred")
    FAILED = "failed", _("Failed")


DUE_STATUSES = (EmailStatus.QUEUED, EmailStatus.DEFERRED)


def new_message_id() -> str:
    """A Message-ID for a new outbox row, under the sender's domain (else the panel's host).

    Every attempt to send the row carries it, so a receiving server can drop a second copy of
    mail that went out twice (a worker or the SMTP server died after the data had gone through).
    """
    _local, at, domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")
    if not (at and domain):
        domain = urlparse(settings.PANEL_URL).hostname or "localhost"
    return make_msgid(domain=domain)


class Recipient(models.Model):
    """One row per address: the lock that makes the per-address rate limit hold across workers."""

    address = models.CharField(_("e-mail address"), max_length=254, unique=True)

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")

    def __str__(self):
        return self.address


class OutboundEmailQuerySet(models.QuerySet):
    def visible_to(self, viewer):
        if viewer.is_authenticated and viewer.is_active and viewer.is_staff_role:
            return self
        return self.none()

    def due(self, now):
        return self.filter(status__in=DUE_STATUSES, next_attempt_at__lte=now)


class OutboundEmail(models.Model):
    """An e-mail in the outbox. Requests only add rows; a Celery task sends them."""

    recipient = models.ForeignKey(Recipient, on_delete=models.PROTECT, related_name="emails",
                                  verbose_name=_("recipient"))
    to = models.EmailField(_("to"))
    template = models.CharField(_("template"), max_length=64, blank=True)
    subject = models.CharField(_("subject"), max_length=255)
    # The bodies are sealed at rest (see `body_text`): mail carries links that grant access
    # (password reset, e-mail verification), which no one reading the outbox may see.
    body_text_sealed = models.TextField(editable=False)
    body_html_sealed = models.TextField(blank=True, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=EmailStatus.choices,
                              default=EmailStatus.QUEUED, db_index=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now, db_index=True)
    # When this row took one of its address's sending slots (set while sending and once sent).
    slot_at = models.DateTimeField(_("slot taken"), null=True, blank=True, db_index=True)
    # A worker holds a claimed row until then (renewed while it sends, see lease.py); past it,
    # a crashed worker's row is due again.
    lease_until = models.DateTimeField(null=True, blank=True)
    # Which claim holds the row while it is SENDING: only that worker may renew or finish it.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True,
                                  default=new_message_id, editable=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    objects = OutboundEmailQuerySet.as_manager()

    class Meta:
        verbose_name = _("outbound e-mail")
        verbose_name_plural = _("outbound e-mails")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "slot_at"])]

    def __str__(self):
        return f"{self.to}: {self.subject}"

    # Only the sender opens the bodies; `OutboundEmail(body_text=...)` seals what it is given.
    @property
    def body_text(self) -> str:
        return unseal(self.body_text_sealed)

    @body_text.setter
    def body_text(self, plain: str) -> None:
        self.body_text_sealed = seal(plain)

    @property
    def body_html(self) -> str:
        return unseal(self.body_html_sealed)

    @body_html.setter
    def body_html(self, plain: str) -> None:
        self.body_html_sealed = seal(plain)


def seal(plain: str) -> str:
    """Encrypted with the installation's credential keys (apps/servers/secrets_box.py)."""
    from apps.servers import secrets_box  # the one key ring of the installation

    return secrets_box.encrypt(plain) if plain else ""


class UnreadableBody(Exception):
    """No key of this installation opens the body (the key it was sealed with was dropped)."""


def unseal(sealed: str) -> str:
    from apps.servers import secrets_box

    try:
        return secrets_box.decrypt(sealed) if sealed else ""
    except secrets_box.UnreadableSecret as exc:
        raise UnreadableBody("the e-mail body cannot be decrypted with any configured key") from exc
