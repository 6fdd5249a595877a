"""How the fleet is doing: probe state with hysteresis, samples and their hourly roll-ups,
alerts and where they are delivered, and the thresholds super admins tune."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import STAFF_ROLES


class StaffOnlyQuerySet(models.QuerySet):
    """The fleet's own records: admins and super admins see them, nobody else."""

    def visible_to(self, viewer):
        if viewer.is_authenticated and viewer.is_active and viewer.role in STAFF_ROLES:
            return self
        return self.none()


# --- Thresholds ------------------------------------------------------------------------------

class MonitoringSettings(models.Model):
    """One row (pk 1): the thresholds and targets super admins edit in the admin."""

    failures_before_unhealthy = models.PositiveSmallIntegerField(
        _("failed probes before unhealthy"), default=3,
        validators=[MinValueValidator(1), MaxValueValidator(20)])
    successes_before_healthy = models.PositiveSmallIntegerField(
        _("good probes before healthy again"), default=2,
        validators=[MinValueValidator(1), MaxValueValidator(20)])
    relay_failures_before_alert = models.PositiveSmallIntegerField(
        _("failed relay probes before an alert"), default=3,
        validators=[MinValueValidator(1), MaxValueValidator(20)])
    latency_warning_ms = models.PositiveIntegerField(
        _("latency alert above (ms)"), default=800,
        validators=[MinValueValidator(1), MaxValueValidator(60000)])
    disk_warning_percent = models.PositiveSmallIntegerField(
        _("disk alert above (%)"), default=90,
        validators=[MinValueValidator(1), MaxValueValidator(100)])
    memory_warning_percent = models.PositiveSmallIntegerField(
        _("memory alert above (%)"), default=90,
        validators=[MinValueValidator(1), MaxValueValidator(100)])
    failover_after_minutes = models.PositiveIntegerField(
        _("fail over after unhealthy for (minutes)"), default=10,
        validators=[MinValueValidator(1), MaxValueValidator(10080)])
    failover_cooldown_minutes = models.PositiveIntegerField(
        _("no relays moved onto a server for (minutes) after it was unhealthy"), default=60,
        validators=[MinValueValidator(0), MaxValueValidator(10080)])
    repeat_notification_minutes = models.PositiveIntegerField(
        _("repeat a still-open alert every (minutes)"), default=240,
        validators=[MinValueValidator(5), MaxValueValidator(10080)])
    quota_warning_percent = models.PositiveSmallIntegerField(
        _("traffic quota alert at (%)"), default=80,
        validators=[MinValueValidator(1), MaxValueValidator(99)])
    abnormal_usage_factor = models.FloatField(
        _("abnormal usage: times the usual"), default=5.0,
        validators=[MinValueValidator(1.5), MaxValueValidator(1000)])
    abnormal_usage_min_bytes = models.PositiveBigIntegerField(
        _("abnormal usage: ignore days below (bytes)"), default=1024 ** 3,
        help_text=_("Small customers doubling a small volume are not worth an alert."))
    probe_targets = models.TextField(
        _("ping targets"), blank=True,
        help_text=_("Host names or IP addresses each server pings, one per line. Empty: the "
                    "other servers."))
    speed_test_url = models.URLField(
        _("speed test URL"), blank=True,
        help_text=_("A file the server downloads to measure its rate. Empty: the panel sends "
                    "the data over SSH."))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("monitoring settings")
        verbose_name_plural = _("monitoring settings")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="monitoring_settings_single")]

    def __str__(self):
        return str(_("Monitoring settings"))

    @classmethod
    def current(cls) -> "MonitoringSettings":
        return cls.objects.get_or_create(pk=1)[0]


# --- Probe state -----------------------------------------------------------------------------

class ProbeState(models.Model):
    """Consecutive results of one target's probes: status changes only after a run of them."""

    failures = models.PositiveIntegerField(_("failed probes in a row"), default=0)
    successes = models.PositiveIntegerField(_("good probes in a row"), default=0)
    last_probe_at = models.DateTimeField(_("last probe"), null=True, blank=True)
    last_ok_at = models.DateTimeField(_("last good probe"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # The figures of the last probe, as shown on the pages ({"load1": 0.3, "tls_ms": 12, …}).
    latest = models.JSONField(_("latest figures"), default=dict, blank=True)

    class Meta:
        abstract = True


class ServerHealth(ProbeState):
    server = models.OneToOneField("servers.Server", on_delete=models.CASCADE, primary_key=True,
                                  related_name="health", verbose_name=_("server"))
    # Set when the probe marked the server unhealthy; failover counts from here.
    unhealthy_since = models.DateTimeField(_("unhealthy since"), null=True, blank=True)
    # When the server last went unhealthy: no relays are moved onto it for a cool-down after.
    last_unhealthy_at = models.DateTimeField(_("last unhealthy"), null=True, blank=True)
    last_failover_at = models.DateTimeField(_("last failover"), null=True, blank=True)

    class Meta:
        verbose_name = _("server health")
        verbose_name_plural = _("server health")

    def __str__(self):
        return str(self.server)


class RelayHealth(ProbeState):
    instance = models.OneToOneField("containers.DerpInstance", on_delete=models.CASCADE,
                                    primary_key=True, related_name="health",
                                    verbose_name=_("relay"))

    class Meta:
        verbose_name = _("relay health")
        verbose_name_plural = _("relay health")

    def __str__(self):
        return str(self.instance)


# --- Samples ---------------------------------------------------------------------------------

class Metric(models.TextChoices):
    """The series probes write. Server figures, then relay figures (measured from the panel)."""

    LOAD1 = "load1", _("Load (1 min)")
    CPUS = "cpus", _("CPUs")
    MEM_PERCENT = "mem_percent", _("Memory used (%)")
    DISK_PERCENT = "disk_percent", _("Disk used (%)")
    UPTIME = "uptime_s", _("Uptime (s)")
    SSH_MS = "ssh_ms", _("SSH response (ms)")
    ENGINE_OK = "engine_ok", _("Container engine reachable")
    PING_MS = "ping_ms", _("Ping (ms)")  # label: the probe target
    PING_LOSS = "ping_loss", _("Ping loss (%)")  # label: the probe target
    DOWNLOAD_MBPS = "download_mbps", _("Download rate (Mbit/s)")
    TCP_MS = "tcp_ms", _("TCP connect (ms)")
    TLS_MS = "tls_ms", _("TLS handshake (ms)")
    HTTP_MS = "http_ms", _("HTTP /generate_204 (ms)")
    STUN_MS = "stun_ms", _("STUN binding (ms)")
    REACHABLE = "reachable", _("Reachable")


class Sample(models.Model):
    """One figure measured at one time, about a server or one of its relays ("label" names the
    probe target of a ping). Raw samples are kept a few days; `SampleRollup` keeps the history."""

    server = models.ForeignKey("servers.Server", on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("server"))
    instance = models.ForeignKey("containers.DerpInstance", on_delete=models.CASCADE, null=True,
                                 blank=True, related_name="+", verbose_name=_("relay"))
    metric = models.CharField(_("metric"), max_length=32, choices=Metric.choices)
    label = models.CharField(_("label"), max_length=64, blank=True)
    value = models.FloatField(_("value"))
    taken_at = models.DateTimeField(_("taken"), default=timezone.now)

    objects = StaffOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("sample")
        verbose_name_plural = _("samples")
        indexes = [models.Index(fields=["server", "metric", "taken_at"], name="samples_server"),
                   models.Index(fields=["instance", "metric", "taken_at"], name="samples_relay"),
                   models.Index(fields=["taken_at"], name="samples_age")]

    def __str__(self):
        return f"{self.metric}{'/' + self.label if self.label else ''}={self.value:g}"


class SampleRollup(models.Model):
    """An hour of one series: count, mean, minimum and maximum."""

    server = models.ForeignKey("servers.Server", on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("server"))
    instance = models.ForeignKey("containers.DerpInstance", on_delete=models.CASCADE, null=True,
                                 blank=True, related_name="+", verbose_name=_("relay"))
    metric = models.CharField(_("metric"), max_length=32, choices=Metric.choices)
    label = models.CharField(_("label"), max_length=64, blank=True)
    hour = models.DateTimeField(_("hour"))
    count = models.PositiveIntegerField(_("samples"))
    mean = models.FloatField(_("mean"))
    low = models.FloatField(_("minimum"))
    high = models.FloatField(_("maximum"))

    objects = StaffOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("hourly figure")
        verbose_name_plural = _("hourly figures")
        constraints = [
            models.UniqueConstraint(fields=["server", "metric", "label", "hour"],
                                    condition=Q(instance__isnull=True),
                                    name="rollups_one_per_server_hour"),
            models.UniqueConstraint(fields=["instance", "metric", "label", "hour"],
                                    condition=Q(instance__isnull=False),
                                    name="rollups_one_per_relay_hour"),
        ]
        indexes = [models.Index(fields=["server", "metric", "hour"], name="rollups_server"),
                   models.Index(fields=["instance", "metric", "hour"], name="rollups_relay")]

    def __str__(self):
        return f"{self.metric}{'/' + self.label if self.label else ''} @ {self.hour:%Y-%m-%d %H}h"


# --- Alerts ----------------------------------------------------------------------------------

class AlertType(models.TextChoices):
    SERVER_UNHEALTHY = "server_unhealthy", _("Server unhealthy")
    RELAY_UNREACHABLE = "relay_unreachable", _("Relay unreachable")
    CERT_MISMATCH = "cert_mismatch", _("Relay certificate mismatch")
    LATENCY_HIGH = "latency_high", _("Latency above threshold")
    DISK_HIGH = "disk_high", _("Disk nearly full")
    MEMORY_HIGH = "memory_high", _("Memory nearly full")
    HOST_KEY_CHANGED = "host_key_changed", _("SSH host key changed")
    SHORTFALL = "provisioning_shortfall", _("Customer short of relays")
    RECONCILE_DRIFT = "reconcile_drift", _("Reconcile found drift")
    FAILOVER = "failover", _("Relays failed over")
    QUOTA_WARNING = "quota_warning", _("Monthly traffic nearly used")
    OVER_QUOTA = "over_quota", _("Monthly traffic used up")
    ABNORMAL_USAGE = "abnormal_usage", _("Abnormal customer usage")


class Severity(models.TextChoices):
    INFO = "info", _("Info")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")


SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class TargetKind(models.TextChoices):
    FLEET = "fleet", _("Fleet")
    SERVER = "server", _("Server")
    RELAY = "relay", _("Relay")
    CUSTOMER = "customer", _("Customer")


class AlertQuerySet(StaffOnlyQuerySet):
    def open(self):
        return self.filter(resolved_at__isnull=True)

    def about(self, kind: str, target_id: int):
        return self.filter(target_kind=kind, target_id=target_id)


class Alert(models.Model):
    type = models.CharField(_("type"), max_length=32, choices=AlertType.choices)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    # What it is about, as plain ids: history outlives the rows it names (0 for the fleet).
    target_kind = models.CharField(_("about"), max_length=10, choices=TargetKind.choices)
    target_id = models.BigIntegerField(_("target id"), default=0)
    target_label = models.CharField(_("target"), max_length=200, blank=True)
    server_id = models.BigIntegerField(_("server"), null=True, blank=True, db_index=True)
    message = models.TextField(_("message"))
    details = models.JSONField(_("details"), default=dict, blank=True)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+",
                                        verbose_name=_("acknowledged by"))
    acknowledgement = models.TextField(_("acknowledgement note"), blank=True)
    # Repeat notifications of a still-open alert are spaced by the settings' interval.
    notified_at = models.DateTimeField(_("last notified"), null=True, blank=True)
    notifications = models.PositiveIntegerField(_("notifications"), default=0)

    objects = AlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-opened_at", "-id"]
        permissions = [("acknowledge_alert", _("Can acknowledge alerts"))]
        constraints = [
            models.UniqueConstraint(fields=["type", "target_kind", "target_id"],
                                    condition=Q(resolved_at__isnull=True),
                                    name="alerts_one_open_per_target"),
        ]
        indexes = [models.Index(fields=["resolved_at", "opened_at"], name="alerts_open"),
                   models.Index(fields=["type", "opened_at"], name="alerts_by_type")]

    def __str__(self):
        return f"{self.get_type_display()}: {self.target_label}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WEBHOOK = "webhook", _("Webhook")


class AlertChannel(models.Model):
    """Where alerts go: e-mail (through the outbox) to the listed addresses, or to the admins on
    duty when none is listed; or a webhook, signed with the channel's secret."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=ChannelKind.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    min_severity = models.CharField(_("from severity"), max_length=8, choices=Severity.choices,
                                    default=Severity.WARNING)
    recipients = models.TextField(_("recipients"), blank=True,
                                  help_text=_("E-mail addresses, one per line. Empty: every "
                                              "active admin and super admin."))
    url = models.URLField(_("webhook URL"), blank=True, max_length=500)
    secret_encrypted = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = StaffOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert channel")
        verbose_name_plural = _("alert channels")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def secret(self) -> str:
        from apps.servers import secrets_box

        return secrets_box.decrypt(self.secret_encrypted) if self.secret_encrypted else ""

    def set_secret(self, plain: str) -> None:
        from apps.servers import secrets_box

        self.secret_encrypted = secrets_box.encrypt(plain) if plain else ""


class AlertEvent(models.TextChoices):
    OPENED = "opened", _("Opened")
    REPEATED = "repeated", _("Still open")
    RESOLVED = "resolved", _("Resolved")


class DeliveryState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class AlertDelivery(models.Model):
    """One notification of one alert event through one channel; webhooks retry with backoff."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries",
                              verbose_name=_("alert"))
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="deliveries",
                                verbose_name=_("channel"))
    event = models.CharField(_("event"), max_length=10, choices=AlertEvent.choices)
    # Which notification of the alert this is (repeats of a still-open alert count up).
    sequence = models.PositiveIntegerField(_("notification number"), default=0)
    state = models.CharField(_("state"), max_length=8, choices=DeliveryState.choices,
                             default=DeliveryState.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    objects = StaffOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert delivery")
        verbose_name_plural = _("alert deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel", "event", "sequence"],
                                    name="deliveries_once_per_event"),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="deliveries_due")]

    def __str__(self):
        return f"{self.alert} → {self.channel} ({self.get_event_display()})"
