"""The audit events of the Django admin's own saves, deletions and actions
(admin_mixins.AuditedChangesMixin): which fields changed from what to what, secrets only named."""

import datetime
import functools

from django.db import models, transaction

from apps.audit import services as audit
from apps.audit.visibility import FINANCE_APPS

MAX_IDS = 100  # an action on thousands of rows names the first ones and counts them all


def _fields(model) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def snapshot(obj, *, saved: bool) -> dict:
    """The row's stored values (field name -> value, many-to-many as sorted ids)."""
    row = type(obj)._base_manager.filter(pk=obj.pk).first() if saved else obj
    if row is None:
        return {}
    values = {f.name: f.value_from_object(row) for f in _fields(type(obj))}
    values.update({f.name: sorted(getattr(row, f.name).values_list("pk", flat=True))
                   for f in type(obj)._meta.many_to_many})
    return values


def _same(before, after) -> bool:
    """Equal as the form shows them: the admin's date-time fields drop the microseconds."""
    if isinstance(before, datetime.datetime) and isinstance(after, datetime.datetime):
        return before.replace(microsecond=0) == after.replace(microsecond=0)
    return before == after


def _shown(obj, name: str, value):
    """A value as the log shows it: a related object by id and name."""
    field = type(obj)._meta.get_field(name)
    if isinstance(field, models.ForeignKey) and value is not None:
        related = field.related_model._base_manager.filter(pk=value).first()
        return f"{value} ({related})" if related is not None else value
    return value


def _finance(obj) -> bool | None:
    return True if obj._meta.app_label in FINANCE_APPS else None  # else: by the amounts named


def record_save(request, obj, *, before: dict, added: bool) -> None:
    from derpmgr.net import client_ip

    after = snapshot(obj, saved=True)
    changed = [name for name, value in after.items()
               if added or not _same(before.get(name), value)]
    if not changed:
        return
    shown = [name for name in changed if not audit.is_secret_name(name)]
    details = {"model": obj._meta.label_lower, "changed": changed,
               "after": {name: _shown(obj, name, after[name]) for name in shown}}
    if not added:
        details["before"] = {name: _shown(obj, name, before.get(name)) for name in shown}
    audit.record(actor=request.user, action="admin.added" if added else "admin.changed",
                 target=obj, ip=client_ip(request), details=details, finance=_finance(obj))


def record_deletion(request, obj) -> None:
    from derpmgr.net import client_ip

    audit.record(actor=request.user, action="admin.deleted", target=obj, ip=client_ip(request),
                 details={"model": obj._meta.label_lower}, finance=_finance(obj))


def _ours(func) -> bool:
    return func.__module__.split(".")[0] in ("apps", "derpmgr")


def audited_action(func, name: str):
    """An admin action run in one transaction with its event (which action, on which rows).

    Our actions call service verbs, which audit what they do: the event joins theirs, and an
    action they all refused (nothing done, nothing audited) writes none. A library's action
    (django-celery-beat's enable/disable, Django's delete) audits nothing itself: it always
    gets one. An action that answers with a page of its own (a confirmation) has not run yet."""

    @functools.wraps(func)
    def run(modeladmin, request, queryset):
        from apps.audit.models import AuditEvent
        from derpmgr.net import client_ip

        with transaction.atomic():
            ids = list(queryset.values_list("pk", flat=True))
            last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            response = func(modeladmin, request, queryset)
            done = not _ours(func) or AuditEvent.objects.filter(pk__gt=last).exists()
            if response is None and done:
                model = modeladmin.model
                audit.record(actor=request.user, action="admin.action", ip=client_ip(request),
                             details={"model": model._meta.label_lower, "action": name,
                                      "count": len(ids), "ids": ids[:MAX_IDS]},
                             finance=True if model._meta.app_label in FINANCE_APPS else None)
        return response

    return run
