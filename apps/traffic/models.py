"""What the relays and servers carried: bytes per period (minute, hour, day) from reset-safe
counter deltas, per customer per day, and each customer's usual usage for spotting spikes.

The raw counters and the running totals stay on the rows they describe (DerpInstance and Server:
`last_rx_counter`, `last_tx_counter`, `counter_epoch`, `rx_bytes`/`traffic_*_bytes`, `rate_bps`);
these tables hold the history.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import STAFF_ROLES
from apps.monitoring.models import StaffOnlyQuerySet


class Resolution(models.TextChoices):
    MINUTE = "minute", _("Minute")
    HOUR = "hour", _("Hour")
    DAY = "day", _("Day")


class Carried(models.Model):
    """Bytes received and sent, and the highest rate seen, over some stretch of time."""

    rx_bytes = models.PositiveBigIntegerField(_("received"), default=0)
    tx_bytes = models.PositiveBigIntegerField(_("sent"), default=0)
    peak_bps = models.PositiveBigIntegerField(_("peak rate (bit/s)"), default=0)

    class Meta:
        abstract = True


class CarriedInPeriod(Carried):
    """What was carried in the minute, hour or day starting at `start` (UTC)."""

    resolution = models.CharField(_("period"), max_length=6, choices=Resolution.choices)
    start = models.DateTimeField(_("from"))

    class Meta:
        abstract = True


class RelayTrafficQuerySet(models.QuerySet):
    def visible_to(self, viewer):
        """Staff see every relay's traffic; a customer sees their own relays'."""
        if not viewer.is_authenticated or not viewer.is_active:
            return self.none()
        if viewer.role in STAFF_ROLES:
            return self
        return self.filter(user_id=viewer.pk)


class RelayTraffic(CarriedInPeriod):
    """Bytes one relay received and sent in one period starting at `start` (UTC), and the
    highest rate seen in it."""

    instance = models.ForeignKey("containers.DerpInstance", on_delete=models.CASCADE,
                                 related_name="+", verbose_name=_("relay"))
    # Copied from the relay so that per-server and per-customer sums need no join.
    server = models.ForeignKey("servers.Server", on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("server"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("customer"))

    objects = RelayTrafficQuerySet.as_manager()

    class Meta:
        verbose_name = _("relay traffic")
        verbose_name_plural = _("relay traffic")
        constraints = [models.UniqueConstraint(fields=["instance", "resolution", "start"],
                                               name="relay_traffic_one_per_period")]
        indexes = [models.Index(fields=["server", "resolution", "start"], name="relay_traffic_server"),
                   models.Index(fields=["user", "resolution", "start"], name="relay_traffic_user"),
                   models.Index(fields=["resolution", "start"], name="relay_traffic_age")]

    def __str__(self):
        return f"{self.instance_id} {self.resolution} {self.start:%Y-%m-%d %H:%M}"


class ServerTraffic(CarriedInPeriod):
    """Bytes through a server's network interface in one period (what the provider bills)."""

    server = models.ForeignKey("servers.Server", on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("server"))

    objects = StaffOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("server traffic")
        verbose_name_plural = _("server traffic")
        constraints = [models.UniqueConstraint(fields=["server", "resolution", "start"],
                                               name="server_traffic_one_per_period")]
        indexes = [models.Index(fields=["resolution", "start"], name="server_traffic_age")]

    def __str__(self):
        return f"{self.server_id} {self.resolution} {self.start:%Y-%m-%d %H:%M}"


class UserTrafficDay(Carried):
    """A customer's bytes over all their relays on one day (in the panel's time zone)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("customer"))
    day = models.DateField(_("day"))

    objects = RelayTrafficQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer traffic per day")
        verbose_name_plural = _("customer traffic per day")
        constraints = [models.UniqueConstraint(fields=["user", "day"],
                                               name="user_traffic_one_per_day")]
        indexes = [models.Index(fields=["day"], name="user_traffic_day")]

    def __str__(self):
        return f"{self.user_id} {self.day}"


class UsageBaseline(models.Model):
    """A customer's usual usage: exponentially weighted means of daily volume and peak rate
    over the past weeks. A day far above it raises an "abnormal usage" alert."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                primary_key=True, related_name="usage_baseline",
                                verbose_name=_("customer"))
    daily_bytes = models.FloatField(_("usual bytes per day"), default=0)
    peak_bps = models.FloatField(_("usual peak rate (bit/s)"), default=0)
    days = models.PositiveIntegerField(_("days learned"), default=0)
    last_day = models.DateField(_("last day learned"), null=True, blank=True)
    # Ops marked the current level as expected: no alert until then.
    expected_until = models.DateTimeField(_("expected until"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("usage baseline")
        verbose_name_plural = _("usage baselines")

    def __str__(self):
        return str(self.user)
