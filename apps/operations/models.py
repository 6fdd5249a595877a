"""Work the panel owes the fleet, as rows.

A request that needs remote work (start a relay, move it, add a server…) writes an Operation in
the same transaction as the change that asks for it; a worker executes it; a sweeper re-queues
what a lost broker message or a killed worker left behind. The row is the only copy that
matters: a broker message is a hint to start now.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OperationKind(models.TextChoices):
    PROVISION = "provision", _("Set up a customer's relays")
    ALLOCATE = "allocate", _("Place a relay on a server")
    START = "start", _("Start a relay")
    STOP = "stop", _("Stop a relay")
    RESTART = "restart", _("Restart a relay")
    REMOVE = "remove", _("Remove a relay")
    MIGRATE = "migrate", _("Move a relay")
    DRAIN = "drain", _("Drain a server")
    FAILOVER = "failover", _("Fail over unhealthy servers")
    RECONCILE = "reconcile", _("Reconcile a server")
    ADD_SERVER = "add_server", _("Set up a new server")
    DELETE_SERVER = "delete_server", _("Reclaim a server")
    REPIN = "repin", _("Re-pin a host key")
    PROBE = "probe", _("Check servers")
    SPEED_TEST = "speed_test", _("Measure a server's download rate")
    RENTAL = "rental", _("Bring a customer's relays in line with their rental")
    QUOTA = "quota", _("Pause or resume a server's relays for its traffic quota")
    EXPORT = "export", _("Export a list as a file")


class OperationState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_STATES = (OperationState.QUEUED, OperationState.RUNNING)
FINISHED_STATES = (OperationState.DONE, OperationState.FAILED, OperationState.CANCELLED)


class OperationQuerySet(models.QuerySet):
    def visible_to(self, viewer):
        """Staff see the fleet's work; a customer sees the work done for them."""
        if not viewer.is_authenticated or not viewer.is_active:
            return self.none()
        if viewer.is_staff_role:
            return self
        return self.filter(customer_id=viewer.pk)

    def active(self):
        return self.filter(state__in=ACTIVE_STATES)

    def about(self, *, server=None, instance=None, customer=None):
        """Operations on a server (including its relays'), a relay, or a customer's relays."""
        if server is not None:
            return self.filter(server_id=server.pk)
        if instance is not None:
            return self.filter(instance_id=instance.pk)
        return self.filter(customer_id=customer.pk)


class Operation(models.Model):
    kind = models.CharField(_("kind"), max_length=20, choices=OperationKind.choices)
    state = models.CharField(_("state"), max_length=10, choices=OperationState.choices,
                             default=OperationState.QUEUED)
    args = models.JSONField(_("arguments"), default=dict, blank=True)
    # What the work is about, kept as plain ids so that history outlives the rows it names.
    server_id = models.BigIntegerField(_("server"), null=True, blank=True, db_index=True)
    instance_id = models.BigIntegerField(_("relay"), null=True, blank=True, db_index=True)
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True, db_index=True)
    target_label = models.CharField(_("target"), max_length=200, blank=True)
    # Work that must not run twice at once ("reconcile:server:7") shares a key while active.
    dedupe_key = models.CharField(max_length=120, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("attempts allowed"), default=4)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    progress_message = models.CharField(_("progress"), max_length=255, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    error_code = models.CharField(_("error code"), max_length=40, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("requested by"))
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    # The worker holding the operation: its token and how long its claim lasts unrenewed.
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    claimed_by = models.CharField(_("worker"), max_length=160, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    not_before = models.DateTimeField(_("not before"), default=timezone.now)
    enqueued_at = models.DateTimeField(default=timezone.now, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = OperationQuerySet.as_manager()

    class Meta:
        verbose_name = _("operation")
        verbose_name_plural = _("operations")
        ordering = ["-created_at", "-id"]
        permissions = [("cancel_operation", _("Can cancel operations"))]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], name="operations_one_active_per_key",
                condition=Q(state__in=ACTIVE_STATES) & ~Q(dedupe_key="")),
        ]
        indexes = [models.Index(fields=["state", "not_before"], name="operations_due"),
                   # The ordering of the lists (GET /api/operations, /ops/operations/).
                   models.Index(fields=["-created_at", "-id"], name="operations_newest"),
                   models.Index(fields=["state", "lease_until"], name="operations_leases")]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()} {self.target_label}".strip()

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


class JobLock(models.Model):
    """One row per periodic job: which interval it last ran in and who holds it now, so that
    two beat processes (or a run slower than its interval) never double up."""

    name = models.CharField(_("job"), max_length=200, primary_key=True)
    slot = models.BigIntegerField(_("last interval run"), default=-1)
    holder = models.CharField(max_length=32, blank=True, editable=False)
    locked_until = models.DateTimeField(_("held until"), null=True, blank=True)
    last_started_at = models.DateTimeField(_("last started"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("last finished"), null=True, blank=True)
    runs = models.PositiveBigIntegerField(_("runs"), default=0)
    skipped = models.PositiveBigIntegerField(_("runs skipped"), default=0)

    class Meta:
        verbose_name = _("periodic job")
        verbose_name_plural = _("periodic jobs")
        ordering = ["name"]

    def __str__(self):
        return self.name
