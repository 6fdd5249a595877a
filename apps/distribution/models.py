"""Distributors, their tiers, and activation codes (the seed's serial numbers)."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Role

from . import codes


class DistributorTier(models.Model):
    """黄金 / 白金 / 铂金: the discount on code batches and the commission on referred sales."""

    slug = models.SlugField(_("key"), unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=32)
    name_en = models.CharField(_("name (English)"), max_length=32)
    discount_percent = models.PositiveSmallIntegerField(
        _("discount %"), validators=[MaxValueValidator(100)])
    commission_percent = models.PositiveSmallIntegerField(
        _("commission %"), validators=[MaxValueValidator(100)])
    rank = models.PositiveSmallIntegerField(_("rank"), default=0)

    class Meta:
        verbose_name = _("distributor tier")
        verbose_name_plural = _("distributor tiers")
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(condition=Q(discount_percent__lte=100)
                                   & Q(commission_percent__lte=100),
                                   name="distribution_tier_percentages"),
        ]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return self.name_zh if translation.get_language() == "zh-hans" else self.name_en


class DistributorProfileQuerySet(models.QuerySet):
    def visible_to(self, viewer):
        if not viewer.is_authenticated:
            return self.none()
        if viewer.role == Role.SUPERADMIN:
            return self
        if viewer.role == Role.ADMIN:
            return self.filter(owner=viewer)
        if viewer.role == Role.DISTRIBUTOR:
            return self.filter(user=viewer)
        return self.none()


class DistributorProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="distributor_profile", verbose_name=_("distributor"),
                                limit_choices_to={"role": Role.DISTRIBUTOR})
    tier = models.ForeignKey(DistributorTier, on_delete=models.PROTECT, related_name="distributors",
                             verbose_name=_("tier"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="owned_distributors", verbose_name=_("owning admin"),
                              limit_choices_to={"role__in": [Role.ADMIN, Role.SUPERADMIN]})
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = DistributorProfileQuerySet.as_manager()

    class Meta:
        verbose_name = _("distributor profile")
        verbose_name_plural = _("distributor profiles")

    def __str__(self):
        return f"{self.user} ({self.tier})"


class CodeStatus(models.TextChoices):
    UNUSED = "unused", _("Unused")
    USED = "used", _("Used")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class ActivationCodeQuerySet(models.QuerySet):
    def visible_to(self, viewer):
        """Super admins see all; an admin the codes made under their authority (their own and
        their distributors'); a distributor their own; a customer the codes they activated."""
        if not viewer.is_authenticated or not viewer.is_active:
            return self.none()
        if viewer.role == Role.SUPERADMIN:
            return self
        if viewer.role == Role.ADMIN:
            return self.filter(Q(created_by=viewer)
                               | Q(created_by__distributor_profile__owner=viewer))
        if viewer.role == Role.DISTRIBUTOR:
            return self.filter(created_by=viewer)
        return self.filter(user=viewer)


class ActivationCode(models.Model):
    code = models.CharField(_("code"), max_length=codes.LENGTH, unique=True, editable=False)
    plan = models.ForeignKey("billing.Plan", on_delete=models.PROTECT, related_name="codes",
                             verbose_name=_("plan"))
    status = models.CharField(_("status"), max_length=8, choices=CodeStatus.choices,
                              default=CodeStatus.UNUSED, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="codes_created", verbose_name=_("created by"))
    order = models.ForeignKey("billing.Order", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="codes", verbose_name=_("order"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.PROTECT, related_name="codes_activated",
                             verbose_name=_("activated by"))
    paid = models.BooleanField(_("paid"), default=False)
    servers = models.ManyToManyField("servers.Server", blank=True, related_name="pinned_codes",
                                     verbose_name=_("pinned servers"),
                                     help_text=_("Relays go on these servers first."))
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("use before"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ActivationCodeQuerySet.as_manager()

    class Meta:
        verbose_name = _("activation code")
        verbose_name_plural = _("activation codes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status="used", user__isnull=False, used_at__isnull=False)
                                   | (~Q(status="used") & Q(user__isnull=True)),
                                   name="distribution_code_used_iff_user"),
        ]
        # A distributor's codes newest first (the portal and GET /api/distributor/serials).
        indexes = [models.Index(fields=["created_by", "-created_at", "-id"],
                                name="distribution_code_creator_new")]

    def __str__(self):
        return codes.display(self.code)

    @property
    def display(self) -> str:
        return codes.display(self.code)

    @property
    def effective_status(self) -> str:
        """An unused code past its deadline is expired even before the nightly job marks it."""
        if self.status == CodeStatus.UNUSED and self.expires_at <= timezone.now():
            return CodeStatus.EXPIRED
        return self.status


class Referral(models.Model):
    """The distributor who brought a customer in: whose code the customer activated first."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="referral", verbose_name=_("customer"))
    distributor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="referrals", verbose_name=_("distributor"))
    code = models.ForeignKey(ActivationCode, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("activation code"))
    created_at = models.DateTimeField(_("referred at"), default=timezone.now)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")

    def __str__(self):
        return f"{self.user} ← {self.distributor}"
