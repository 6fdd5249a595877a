"""The fleet: servers the business rents relays on."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Role

from . import secrets_box


class ServerStatus(models.TextChoices):
    HEALTHY = "healthy", _("Healthy")
    UNHEALTHY = "unhealthy", _("Unhealthy")
    OVER_QUOTA = "over_quota", _("Over quota")
    DRAINING = "draining", _("Draining")
    MAINTENANCE = "maintenance", _("Maintenance")
    SETTING_UP = "setting_up", _("Being set up")


class SshAuth(models.TextChoices):
    KEY = "key", _("Private key")
    PASSWORD = "password", _("Password")


class ServerQuerySet(models.QuerySet):
    def visible_to(self, viewer):
        if viewer.is_authenticated and viewer.is_active and viewer.role in (Role.SUPERADMIN,
                                                                            Role.ADMIN):
            return self
        return self.none()

    def placeable(self):
        """Servers that may take a new relay now (capacity is checked by the caller)."""
        return self.filter(status=ServerStatus.HEALTHY)


phone_validator = RegexValidator(r"^\+?[0-9][0-9 -]{4,19}$", _("Enter a phone number."))
hostname_validator = RegexValidator(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$",
    _("Enter a domain name such as derp1.example.com."))


class Server(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)
    aliyun_account = models.CharField(_("Aliyun account (phone)"), max_length=20, blank=True,
                                      validators=[phone_validator])
    public_ip = models.GenericIPAddressField(_("public IP"), unique=True)
    domain = models.CharField(_("domain"), max_length=253, blank=True,
                              validators=[hostname_validator],
                              help_text=_("Empty: relays are reached by IP with a certificate "
                                          "pinned in the derpMap."))
    location = models.CharField(_("location"), max_length=128, blank=True,
                                help_text=_("Filled from the IP database when configured; editable."))
    region = models.CharField(_("region"), max_length=64, blank=True)

    ssh_host = models.CharField(_("SSH host"), max_length=253)
    ssh_port = models.PositiveIntegerField(_("SSH port"), default=22,
                                           validators=[MinValueValidator(1), MaxValueValidator(65535)])
    ssh_user = models.CharField(_("SSH user"), max_length=32, default="root",
                                validators=[RegexValidator(r"^[a-z_][a-z0-9_-]{0,31}$")])
    ssh_auth = models.CharField(_("SSH authentication"), max_length=8, choices=SshAuth.choices,
                                default=SshAuth.KEY)
    ssh_secret_encrypted = models.TextField(editable=False)
    ssh_host_key = models.TextField(_("pinned SSH host key"), editable=False,
                                    help_text=_("Pinned when the server was added; re-pinned only "
                                                "by an admin."))

    port_range_start = models.PositiveIntegerField(
        _("first relay port"), default=30000,
        validators=[MinValueValidator(1024), MaxValueValidator(65535)])
    port_range_end = models.PositiveIntegerField(
        _("last relay port"), default=30999,
        validators=[MinValueValidator(1024), MaxValueValidator(65535)])
    max_containers = models.PositiveIntegerField(_("max relays"), default=100,
                                                 validators=[MinValueValidator(1)])
    monthly_quota_bytes = models.PositiveBigIntegerField(
        _("monthly traffic quota (bytes)"), default=0, help_text=_("0: no quota."))
    quota_reset_day = models.PositiveSmallIntegerField(
        _("quota reset day"), default=1, validators=[MinValueValidator(1), MaxValueValidator(28)])
    traffic_month_bytes = models.PositiveBigIntegerField(_("traffic this month"), default=0,
                                                         editable=False)
    traffic_total_bytes = models.PositiveBigIntegerField(_("total traffic"), default=0,
                                                         editable=False)
    traffic_interface = models.CharField(
        _("network interface"), max_length=15, blank=True,
        validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,14}$")],
        help_text=_("Whose counters measure the monthly traffic. Empty: the interface of the "
                    "default route."))
    # The quota month under way began here (the reset day at midnight, panel time).
    traffic_period_start = models.DateTimeField(_("quota month began"), null=True, blank=True,
                                                editable=False)
    # The interface's counters at the last sample and which boot they belong to: counters
    # restart at zero with the machine, so a new boot counts from zero, never negative.
    last_rx_counter = models.PositiveBigIntegerField(default=0, editable=False)
    last_tx_counter = models.PositiveBigIntegerField(default=0, editable=False)
    counter_epoch = models.CharField(max_length=64, blank=True, editable=False)
    last_sample_at = models.DateTimeField(_("last traffic sample"), null=True, blank=True,
                                          editable=False)
    rate_bps = models.PositiveBigIntegerField(_("current rate (bit/s)"), default=0,
                                              editable=False)

    status = models.CharField(_("status"), max_length=12, choices=ServerStatus.choices,
                              default=ServerStatus.HEALTHY, db_index=True)
    derp_image = models.CharField(_("relay image"), max_length=255, blank=True,
                                  help_text=_("Empty: the panel's default image."))
    cert_pem = models.TextField(_("certificate"), blank=True, editable=False)
    # The certificate's private key, encrypted like the SSH credential: uploaded when the server
    # is set up (by a worker, after the request that added it) and again if it is reinstalled.
    cert_key_encrypted = models.TextField(blank=True, editable=False)
    cert_fingerprint = models.CharField(_("certificate fingerprint (sha256-raw)"), max_length=64,
                                        blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ServerQuerySet.as_manager()

    class Meta:
        verbose_name = _("server")
        verbose_name_plural = _("servers")
        ordering = ["name"]
        permissions = [("operate_server", _("Can reconcile, drain, fail over and check servers"))]
        constraints = [
            models.CheckConstraint(condition=Q(port_range_start__lte=models.F("port_range_end")),
                                   name="servers_port_range_ordered"),
            models.CheckConstraint(condition=Q(max_containers__gte=1),
                                   name="servers_max_containers_positive"),
        ]

    def __str__(self):
        return f"{self.name} ({self.public_ip})"

    @property
    def hostname(self) -> str:
        """What clients dial and what the relay calls itself."""
        return self.domain or self.public_ip

    @property
    def image(self) -> str:
        return self.derp_image or settings.DERP_IMAGE

    @property
    def monthly_remaining_bytes(self) -> int | None:
        if not self.monthly_quota_bytes:
            return None
        return max(0, self.monthly_quota_bytes - self.traffic_month_bytes)

    def ssh_secret(self) -> str:
        return secrets_box.decrypt(self.ssh_secret_encrypted)

    def set_ssh_secret(self, plain: str) -> None:
        self.ssh_secret_encrypted = secrets_box.encrypt(plain)

    def cert_key_pem(self) -> str:
        return secrets_box.decrypt(self.cert_key_encrypted) if self.cert_key_encrypted else ""

    def set_cert_key_pem(self, plain: str) -> None:
        self.cert_key_encrypted = secrets_box.encrypt(plain)
