"""A customer's relay on one server: one derper container on its own port."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import CustomerOwnedQuerySet


class InstanceStatus(models.TextChoices):
    PENDING = "pending", _("Being set up")
    RUNNING = "running", _("Running")
    STOPPED = "stopped", _("Stopped")
    REMOVING = "removing", _("Being removed")
    REMOVED = "removed", _("Removed")
    ERROR = "error", _("Failed")
    MIGRATING = "migrating", _("Moving")


# Instances that hold their port and count against their server (everything but the dead).
LIVE_STATUSES = (InstanceStatus.PENDING, InstanceStatus.RUNNING, InstanceStatus.STOPPED,
                 InstanceStatus.REMOVING, InstanceStatus.MIGRATING)
_LIVE = Q(status__in=LIVE_STATUSES)


def new_admission_token() -> str:
    return secrets.token_urlsafe(24)  # 192 bits


class DerpInstanceQuerySet(CustomerOwnedQuerySet):
    def live(self):
        return self.filter(_LIVE)


class DerpInstance(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="derp_instances", verbose_name=_("user"))
    server = models.ForeignKey("servers.Server", on_delete=models.PROTECT,
                               related_name="instances", verbose_name=_("server"))
    port = models.PositiveIntegerField(_("port"))
    container_name = models.CharField(_("container"), max_length=64, blank=True)
    container_id = models.CharField(_("container id"), max_length=64, blank=True)
    admission_token = models.CharField(max_length=64, unique=True, default=new_admission_token,
                                       editable=False)
    status = models.CharField(_("status"), max_length=10, choices=InstanceStatus.choices,
                              default=InstanceStatus.PENDING, db_index=True)
    # Set on the new instance of a migration: the one it replaces.
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("replaces"))
    # While MIGRATING: the status to return to if the move fails (and to move the relay in).
    status_before_move = models.CharField(max_length=10, blank=True, editable=False)
    # The operation that made the relay: a later attempt of it finishes this one, not a new one.
    operation = models.ForeignKey("operations.Operation", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("made by"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    rx_bytes = models.PositiveBigIntegerField(_("received"), default=0)
    tx_bytes = models.PositiveBigIntegerField(_("sent"), default=0)
    rate_bps = models.PositiveBigIntegerField(_("current rate (bit/s)"), default=0)
    denied_connections = models.PositiveBigIntegerField(_("refused connections"), default=0)
    last_rx_counter = models.PositiveBigIntegerField(default=0, editable=False)
    last_tx_counter = models.PositiveBigIntegerField(default=0, editable=False)
    # Which start of the container the last counters belong to (its id and start time): a
    # restarted container counts from zero again.
    counter_epoch = models.CharField(max_length=100, blank=True, editable=False)
    last_sample_at = models.DateTimeField(_("last sample"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)
    # Stopped because its server used up its monthly traffic (apps.traffic.quota): it starts
    # again when the quota month resets, not before; meanwhile the rental counts it as in line.
    paused_for_quota = models.BooleanField(_("paused for the server's quota"), default=False)

    objects = DerpInstanceQuerySet.as_manager()

    class Meta:
        verbose_name = _("relay instance")
        verbose_name_plural = _("relay instances")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two live relays on one server can never share a port, whatever races above.
            models.UniqueConstraint(fields=["server", "port"], condition=_LIVE,
                                    name="containers_one_live_instance_per_port"),
            models.UniqueConstraint(fields=["server", "user"], condition=_LIVE,
                                    name="containers_one_live_instance_per_user_and_server"),
        ]
        # The ordering of GET /api/container/list and the admin's list: a page is an index scan.
        indexes = [models.Index(fields=["-created_at", "-id"], name="containers_instance_newest")]

    def __str__(self):
        return f"{self.user} @ {self.server.name}:{self.port}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES
