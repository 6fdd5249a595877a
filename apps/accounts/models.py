import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SUPERADMIN = "superadmin", _("Super admin")
    ADMIN = "admin", _("Admin")
    DISTRIBUTOR = "distributor", _("Distributor")
    USER = "user", _("User")


STAFF_ROLES = frozenset({Role.SUPERADMIN, Role.ADMIN})


class RentalState(models.TextChoices):
    NONE = "none", _("No rental")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    DEREGISTERED = "deregistered", _("Deregistered")


class UserQuerySet(models.QuerySet):
    def visible_to(self, viewer):
        """The accounts a principal may see: the only place this is decided."""
        if not viewer.is_authenticated or not viewer.is_active:
            return self.none()
        if viewer.role == Role.SUPERADMIN:
            return self
        if viewer.role == Role.ADMIN:
            # Admins run the customers' accounts and see their fellow staff, but a super admin's
            # account is not theirs to see or touch.
            return self.exclude(role=Role.SUPERADMIN)
        if viewer.role == Role.DISTRIBUTOR:
            # Themselves and the customers who activated one of their codes.
            return self.filter(models.Q(pk=viewer.pk)
                               | models.Q(codes_activated__created_by=viewer)).distinct()
        return self.filter(pk=viewer.pk)


class CustomerOwnedQuerySet(models.QuerySet):
    """Rows that belong to one customer (`user`): staff see all, anyone else their own."""

    def visible_to(self, viewer):
        if not viewer.is_authenticated or not viewer.is_active:
            return self.none()
        if viewer.role in STAFF_ROLES:
            return self
        return self.filter(user=viewer)


class DerpUserManager(UserManager.from_queryset(UserQuerySet)):
    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)

    def create_user(self, username=None, email=None, password=None, **extra):
        return super().create_user(username or email, email, password, **extra)

    def create_superuser(self, username=None, email=None, password=None, **extra):
        extra.setdefault("role", Role.SUPERADMIN)
        extra.setdefault("email_verified", True)
        return super().create_superuser(username or email, email, password, **extra)


class User(AbstractUser):
    """Anyone who signs in: staff, distributors and customers. Login is by e-mail."""

    email = models.EmailField(_("e-mail address"), unique=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.USER)
    email_verified = models.BooleanField(_("e-mail verified"), default=False)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES,
                                default=settings.LANGUAGE_CODE)
    rental_state = models.CharField(_("rental state"), max_length=16, choices=RentalState.choices,
                                    default=RentalState.NONE)
    rental_expiry = models.DateTimeField(_("rental expiry"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    # Set when the account was deleted: it stays, anonymised, for the orders and audit that
    # point at it (apps.rentals.services.delete_user).
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["username"]

    objects = DerpUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"), name="accounts_user_email_ci_unique",
                violation_error_message=_("An account with this e-mail address already exists.")),
            models.UniqueConstraint(
                Lower("username"), name="accounts_user_username_ci_unique",
                violation_error_message=_("This username is taken.")),
        ]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        # The role decides Django's flags and group; nobody sets those by hand.
        self.is_staff = self.role in STAFF_ROLES
        self.is_superuser = self.role == Role.SUPERADMIN
        super().save(*args, **kwargs)
        self.sync_role_group()

    def sync_role_group(self):
        """Be in the group of the role and in no other role's group (other groups stay)."""
        from django.contrib.auth.models import Group

        role_groups = Group.objects.filter(name__in=Role.values)
        current = set(self.groups.filter(pk__in=role_groups).values_list("name", flat=True))
        if current == {self.role}:
            return
        self.groups.remove(*role_groups.exclude(name=self.role))
        group = role_groups.filter(name=self.role).first()
        if group is not None:
            self.groups.add(group)

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def mfa_required(self) -> bool:
        if self.role in STAFF_ROLES:
            return True
        return self.role == Role.DISTRIBUTOR and settings.MFA_REQUIRED_FOR_DISTRIBUTORS


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def visible_to(self, viewer):
        if not viewer.is_authenticated:
            return self.none()
        if viewer.role == Role.SUPERADMIN:
            return self
        return self.filter(user=viewer)

    def live(self):
        idle_limit = timezone.now() - timezone.timedelta(days=settings.API_TOKEN_IDLE_DAYS)
        return self.filter(last_used_at__gte=idle_limit)


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 is stored; the raw token is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens", verbose_name=_("user"))
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), default=timezone.now)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user) -> tuple["ApiToken", str]:
        raw = "dm_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, key_hash=_hash_token(raw), prefix=raw[3:9])
        return token, raw

    @classmethod
    def find(cls, raw: str) -> "ApiToken | None":
        return cls.objects.live().select_related("user").filter(key_hash=_hash_token(raw)).first()
