"""The rental: what a customer rents, and where it stands in time.

The state and the end date live on the user (`User.rental_state`, `User.rental_expiry`) because
every relay admission, page and derpMap download reads them; this app is the only writer
(services.py). Everything else about the rental lives here: the period (a renewal starts a new
one, and reminders are once per threshold per period), when the lifecycle job must look at it
next, why it is suspended, the relays it promises and whether the servers have caught up.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import CustomerOwnedQuerySet, RentalState


class RelayIntent(models.TextChoices):
    """What the customer's relays should be doing, from the rental and the account."""
    NONE = "none", _("No rental: left alone")
    RUN = "run", _("Running")
    STOP = "stop", _("Stopped (ports kept)")
    RELEASE = "release", _("Removed (ports released)")


class RentalQuerySet(CustomerOwnedQuerySet):  # staff see every rental, a customer their own
    def due(self, now=None):
        return self.filter(next_event_at__lte=now or timezone.now())

    def short_of_relays(self):
        return self.filter(relays_missing__gt=0, user__rental_state=RentalState.ACTIVE,
                           user__is_active=True)


class Rental(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True,
                                on_delete=models.CASCADE, related_name="rental",
                                verbose_name=_("customer"))
    # Bumped whenever the end date changes: reminders are sent once per threshold per period.
    period = models.PositiveIntegerField(_("period"), default=0)
    period_started_at = models.DateTimeField(_("period started"), null=True, blank=True)
    # When the lifecycle job must look at this rental next (a reminder, the end, deregistration);
    # null when nothing is scheduled. The job reads only what is due, through this index.
    next_event_at = models.DateTimeField(_("next event"), null=True, blank=True, db_index=True)
    servers = models.PositiveSmallIntegerField(_("relays promised"),
                                               default=settings.DEFAULT_SERVERS_PER_RENTAL)
    pinned_server_ids = models.JSONField(_("pinned servers"), default=list, blank=True)
    suspended_at = models.DateTimeField(_("suspended"), null=True, blank=True)
    suspended_by_hand = models.BooleanField(_("suspended by an operator"), default=False)
    suspension_reason = models.CharField(_("reason"), max_length=500, blank=True)
    deregistered_at = models.DateTimeField(_("deregistered"), null=True, blank=True)
    # Bumped by every transition: relay work started under an older version runs again.
    version = models.PositiveIntegerField(default=0)
    # False while the relays may not yet follow the rental (work queued, running or failed):
    # the lifecycle job sends the work again for these, and ops see them as pending.
    relays_settled = models.BooleanField(_("relays in line"), default=True)
    relays_missing = models.PositiveSmallIntegerField(_("relays missing"), default=0)
    relays_note = models.CharField(_("relay work"), max_length=500, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = RentalQuerySet.as_manager()

    class Meta:
        verbose_name = _("rental")
        verbose_name_plural = _("rentals")
        permissions = [("renew_rental", _("Can renew a rental to a date")),
                       ("suspend_rental", _("Can suspend and resume a rental"))]
        indexes = [
            models.Index(fields=["relays_missing"], condition=Q(relays_missing__gt=0),
                         name="rentals_short_of_relays"),
            models.Index(fields=["relays_settled"], condition=Q(relays_settled=False),
                         name="rentals_relays_unsettled"),
        ]

    def __str__(self):
        return str(self.user)

    def relay_intent(self, user=None) -> str:
        user = user or self.user
        if user.deleted_at is not None:
            return RelayIntent.RELEASE  # a deleted account keeps nothing on the servers
        if user.rental_state == RentalState.NONE:
            return RelayIntent.NONE  # relays an operator placed by hand are theirs to manage
        if user.rental_state == RentalState.DEREGISTERED:
            return RelayIntent.RELEASE
        if user.rental_state == RentalState.ACTIVE and user.is_active:
            return RelayIntent.RUN
        return RelayIntent.STOP


class Reminder(models.Model):
    """One reminder e-mail sent: the constraint makes it once per threshold per period, however
    many jobs run at once."""

    rental = models.ForeignKey(Rental, on_delete=models.CASCADE, related_name="reminders")
    period = models.PositiveIntegerField(_("period"))
    days_before = models.PositiveSmallIntegerField(_("days before the end"))
    ends_at = models.DateTimeField(_("rental end"))
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-sent_at"]
        constraints = [models.UniqueConstraint(fields=["rental", "period", "days_before"],
                                               name="rentals_reminder_once_per_period")]

    def __str__(self):
        return f"{self.rental} −{self.days_before}d"
