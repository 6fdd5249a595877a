from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(RuntimeError):
    """The audit log is append-only: nothing edits or deletes an event."""


class AuditEventQuerySet(models.QuerySet):
    def visible_to(self, viewer):
        """Staff read the log: super admins all of it, others the events about objects they may
        see, finance only if they may see finance (visibility.py)."""
        from . import visibility

        if not (viewer.is_authenticated and viewer.is_active and viewer.is_staff_role):
            return self.none()
        if viewer.is_superuser:
            return self
        events = self if visibility.may_see_finance(viewer) else self.filter(finance=False)
        return events.exclude(visibility.hidden_targets(viewer, event_model=self.model))

    def update(self, **kwargs):
        raise AppendOnlyError("audit events cannot be updated")

    def bulk_update(self, objs, fields, batch_size=None):
        # Refused up front: Django's own bulk_update would fail inside a savepoint-less atomic
        # block and leave the caller's transaction unusable.
        raise AppendOnlyError("audit events cannot be updated")

    def delete(self):
        raise AppendOnlyError("audit events cannot be deleted")


class AuditEvent(models.Model):
    """One line of the system log: who did what to which object, from where, when."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+", verbose_name=_("actor"))
    # The actor as they were at the time, kept when the account itself is gone.
    actor_label = models.CharField(_("actor"), max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.CharField(_("target type"), max_length=64, blank=True, db_index=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True, db_index=True)
    target_label = models.CharField(_("target"), max_length=254, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    # About money (visibility.is_finance): shown only to those who may see finance.
    finance = models.BooleanField(_("finance"), default=False, editable=False)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label or '-'} {self.action}"

    def save(self, *args, **kwargs):
        # A new instance given the id of an existing event would otherwise UPDATE that row.
        if not self._state.adding or (
                self.pk is not None and type(self)._base_manager.filter(pk=self.pk).exists()):
            raise AppendOnlyError("audit events cannot be updated")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events cannot be deleted")

    @property
    def action_label(self) -> str:
        from .labels import action_label

        return action_label(self.action)
