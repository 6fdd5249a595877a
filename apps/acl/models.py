"""Devices, derpMap versions ("ACL files") and their download log."""

import re
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import CustomerOwnedQuerySet

NODE_KEY = re.compile(r"nodekey:[0-9a-f]{64}")  # use fullmatch: "$" would let a newline through


class InvalidNodeKey(ValueError):
    """Why a pasted value is not a node key: "empty", "other_key" (a machine, disco or auth key),
    "length" or "characters"."""

    def __init__(self, reason: str, length: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.length = length


_OTHER_KEYS = ("mkey:", "discokey:", "nlpub:", "tskey-", "privkey:")


def normalise_node_key(raw) -> str:
    """"nodekey:<64 lowercase hex>" from what a person pasted (bare hex accepted, any case)."""
    key = raw.strip().lower() if isinstance(raw, str) else ""
    if not key:
        raise InvalidNodeKey("empty")
    if key.startswith(_OTHER_KEYS):
        raise InvalidNodeKey("other_key")
    hex_part = key.removeprefix("nodekey:")
    if NODE_KEY.fullmatch("nodekey:" + hex_part):
        return "nodekey:" + hex_part
    if any(c not in "0123456789abcdef" for c in hex_part):
        raise InvalidNodeKey("characters")
    raise InvalidNodeKey("length", len(hex_part))


class Device(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="devices", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=64)
    node_key = models.CharField(_("node key"), max_length=72, unique=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    last_ip = models.GenericIPAddressField(_("last IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("added"), default=timezone.now)

    objects = CustomerOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["user", "name"],
                                               name="acl_device_name_unique_per_user")]
        # The staff's list of every customer's devices (GET /api/acl/devices) by name.
        indexes = [models.Index(fields=["name", "id"], name="acl_device_by_name")]

    def __str__(self):
        return f"{self.name} ({self.node_key[:16]}…)"


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


class AclConfig(models.Model):
    """One version of a user's derpMap. The newest unexpired one is the user's ACL."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="acl_configs", verbose_name=_("user"))
    version = models.PositiveIntegerField(_("version"))
    derp_map = models.JSONField(_("derpMap"))
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    reason = models.CharField(_("reason"), max_length=32, blank=True)

    objects = CustomerOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("ACL version")
        verbose_name_plural = _("ACL versions")
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["user", "version"],
                                               name="acl_config_version_unique_per_user")]

    def __str__(self):
        return f"{self.user} v{self.version}"

    @property
    def is_valid(self) -> bool:
        return self.expires_at > timezone.now()


class DerpMapFeed(models.Model):
    """The secret, stable URL that always serves a user's current derpMap (Headscale derp.urls)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="derp_map_feed", verbose_name=_("user"))
    token = models.CharField(_("token"), max_length=64, unique=True, default=new_feed_token)

    class Meta:
        verbose_name = _("derpMap URL")
        verbose_name_plural = _("derpMap URLs")

    def __str__(self):
        return _("derpMap URL of %(user)s") % {"user": self.user}


class AclFormat(models.TextChoices):
    """The formats a user downloads."""

    TAILSCALE = "tailscale", _("Tailscale policy file")
    HEADSCALE = "headscale", _("Headscale derp.yaml")
    JSON = "json", _("DERPMap JSON")


class AclAccess(models.TextChoices):
    """How a derpMap was taken: a download in one of the formats, the derpMap URL fetched (by
    Headscale), or the page that shows all three."""

    TAILSCALE = AclFormat.TAILSCALE.value, AclFormat.TAILSCALE.label
    HEADSCALE = AclFormat.HEADSCALE.value, AclFormat.HEADSCALE.label
    JSON = AclFormat.JSON.value, AclFormat.JSON.label
    FEED = "feed", _("derpMap URL")
    PAGE = "page", _("Shown on the page")


class AclLog(models.Model):
    """One download (or display, or fetch of the derpMap URL) of a user's derpMap."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="acl_downloads", verbose_name=_("user"))
    version = models.PositiveIntegerField(_("version"))
    format = models.CharField(_("format"), max_length=10, choices=AclAccess.choices)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    location = models.CharField(_("location"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    objects = CustomerOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("ACL download")
        verbose_name_plural = _("ACL downloads")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.user} v{self.version} {self.format}"
